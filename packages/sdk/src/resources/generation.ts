// Cost-bearing generation calls. Each returns the queued Job; `…AndWait` variants follow it to the
// end (jobs.wait) and wrap the result with output helpers.
import * as api from "../generated/sdk.gen.ts";
import type {
  ComposeVideoData, ComposeVideoResponse, CreateGenerationData, CreateGenerationResponse,
  GenerateAudioData, GenerateAudioResponse, GenerateImageData, GenerateImageResponse,
  GenerateVideoData, GenerateVideoResponse, GetGenerationResponse, Job,
} from "../generated/types.gen.ts";
import { enforceMaxCost, requestOptionsOf, type CostOptions } from "../cost.ts";
import { withOutputs, type JobResult } from "../output.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";
import { isTerminal, type WaitOptions } from "../wait.ts";
import type { Aeriox } from "../client.ts";

export type GenerateAndWaitOptions = CostOptions & WaitOptions;

async function finish(client: Aeriox, job: Job, opts: GenerateAndWaitOptions): Promise<JobResult> {
  const done = isTerminal(job) && job.status === "completed" ? job : await client.jobs.wait(job.job_id, opts);
  return withOutputs(client, done);
}

export class Images extends APIResource {
  /** `POST /v1/images/generate` */
  async generate(body: GenerateImageData["body"], opts: CostOptions = {}): Promise<GenerateImageResponse> {
    await enforceMaxCost(this.client, { model: body.model, prompt: body.prompt }, opts);
    return this.client.request(api.generateImage, { body }, requestOptionsOf(opts));
  }

  async generateAndWait(body: GenerateImageData["body"], opts: GenerateAndWaitOptions = {}): Promise<JobResult> {
    return finish(this.client, await this.generate(body, opts), opts);
  }
}

export class Videos extends APIResource {
  /** `POST /v1/videos/generate` */
  async generate(body: GenerateVideoData["body"], opts: CostOptions = {}): Promise<GenerateVideoResponse> {
    // The start image goes to the estimate too, so an image-to-video-only model is not reported `image_url_required`.
    await enforceMaxCost(this.client, { model: body.model, prompt: body.prompt, duration: body.duration_s, ...(body.image_url !== undefined && { image_url: body.image_url }) }, opts);
    return this.client.request(api.generateVideo, { body }, requestOptionsOf(opts));
  }

  async generateAndWait(body: GenerateVideoData["body"], opts: GenerateAndWaitOptions = {}): Promise<JobResult> {
    return finish(this.client, await this.generate(body, opts), opts);
  }
}

export class Audio extends APIResource {
  /** `POST /v1/audio/generate` (often completes inline). `maxCostUsd` needs `model`. */
  async generate(body: GenerateAudioData["body"], opts: CostOptions = {}): Promise<GenerateAudioResponse> {
    if (opts.maxCostUsd !== undefined && !body.model) throw new TypeError("maxCostUsd on audio.generate needs `model` to estimate");
    await enforceMaxCost(this.client, { model: body.model ?? "", prompt: body.text }, opts);
    return this.client.request(api.generateAudio, { body }, requestOptionsOf(opts));
  }

  async generateAndWait(body: GenerateAudioData["body"], opts: GenerateAndWaitOptions = {}): Promise<JobResult> {
    return finish(this.client, await this.generate(body, opts), opts);
  }
}

export class Compose extends APIResource {
  /** `POST /v1/compose`: returns an acknowledgement whose `id` is the job id (or, with `Prefer: wait=N` in `headers`, the finished Job when it ended in time). */
  create(body: ComposeVideoData["body"], opts?: RequestOptions): Promise<ComposeVideoResponse> {
    return this.client.request(api.composeVideo, { body }, opts);
  }

  async createAndWait(body: ComposeVideoData["body"], opts: RequestOptions & WaitOptions = {}): Promise<JobResult> {
    const res = await this.create(body, opts);
    // The acknowledgement (202), or the finished Job (200) when the request asked `Prefer: wait`.
    if ("job_id" in res) return withOutputs(this.client, isTerminal(res) && res.status === "completed" ? res : await this.client.jobs.wait(res.job_id, opts));
    return withOutputs(this.client, await this.client.jobs.wait(res.id, opts));
  }
}

/** @deprecated Legacy generation endpoints; use `images`, `videos` and `jobs`. */
export class Generations extends APIResource {
  /** @deprecated `POST /v1/generate` */
  create(body: CreateGenerationData["body"], opts?: RequestOptions): Promise<CreateGenerationResponse> {
    return this.client.request(api.createGeneration, { body }, opts);
  }

  /** @deprecated `GET /v1/generations/{id}` */
  get(id: string, opts?: RequestOptions): Promise<GetGenerationResponse> {
    return this.client.request(api.getGeneration, { path: { id } }, opts);
  }
}
