/**
 * fal.ai through @fal-ai/client's queue API:
 *   submit (once; the request id is persisted at once via ctx.recordRequestId) →
 *   poll status (IN_QUEUE → IN_PROGRESS → COMPLETED, reported as progress) → result →
 *   download the output URLs into bytes.
 * A retried job arrives with ctx.existingRequestId: we poll that request and never submit again,
 * so a crash after submit cannot pay fal twice.
 *
 * We poll with queue.status ourselves (not subscribeToStatus) to own the interval, progress
 * and abort. Note: @fal-ai/client retries some failures itself (status: 429/500/502/503/504
 * up to 5 times with backoff from 1 s; submit/result: 429/502/503/504 up to 3 times);
 * a 500 on submit or result surfaces at once.
 *
 * Output URLs come from fal's answer, so they are downloaded through the guarded fetcher
 * (docs/ARCHITECTURE.md, Access → Outbound fetches) like any other URL we did not choose.
 *
 * LoRA training (`trainLora`, run by the training job in aeriox-provider.ts): the references'
 * zip is uploaded with the client's storage (`fal.storage.upload`: POST rest.fal.ai
 * /storage/upload/initiate for an upload URL, then PUT of the bytes), then
 * `fal-ai/flux-lora-fast-training` runs through the same queue protocol (request id recorded
 * before polling, so a retry polls instead of paying again). Its result names the weights'
 * URL (`diffusion_lora_file.url`), which is stored, not downloaded: fal loads it for
 * generations with the character (`fal-ai/flux-lora`, `loras: [{path, scale}]`).
 */
import type { FalClient } from "@fal-ai/client";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { FLUX_SIZE_BY_ASPECT, megapixelPrice, priceFor, videoDurationS } from "../pricing/estimate.ts";
import { parseResolution } from "../media/sizes.ts";
import { safeProgress, type ProviderAdapter } from "./adapter.ts";
import { ProviderError, abortedError, errorFromStatus } from "./errors.ts";
import type { ProviderContext, ProviderOutput, ProviderRequest, ProviderResult } from "./types.ts";
import { DEFAULT_OUTBOUND_POLICY, guardedFetch, isOutboundFetchError, type OutboundPolicy } from "../net/index.ts";
import { lazyModule } from "../lazy-module.ts";

type FalSdk = typeof import("@fal-ai/client");
/** Imported when the first fal.ai call is made (lazy-module.ts): a server without fal traffic never loads it. */
const falSdk = lazyModule<FalSdk>(() => import("@fal-ai/client"));

export interface FalProviderOptions {
  /** FAL_KEY; absent → every run fails with ProviderError("unavailable"). */
  credentials: string | undefined;
  pollIntervalMs?: number;
  downloadTimeoutMs?: number;
  maxDownloadBytes?: number;
  /** Where downloads may go (config's FETCH_* settings); default: public addresses only. */
  outbound?: OutboundPolicy;
}

/** What a fal output may be: media, or the CDN's generic binary type. */
const OUTPUT_CONTENT_TYPES = ["image/*", "video/*", "audio/*", "application/octet-stream", "binary/octet-stream"];


/** fal's FLUX LoRA trainer and what its runs are asked for (fal's default steps, the run the catalog prices). */
export const FAL_LORA_TRAINER = "fal-ai/flux-lora-fast-training";
export const FAL_LORA_TRAINING_STEPS = 1000;

export interface LoraTrainer {
  /** Trains (or, with ctx.existingRequestId, resumes) one LoRA; progress is reported from `from` to `to`. */
  trainLora(o: { archive: Uint8Array; triggerWord: string; from: number; to: number }, ctx: ProviderContext): Promise<{ requestId: string; loraUrl: string; configUrl: string | null }>;
  cancelLoraTraining(requestId: string): Promise<void>;
}

export class FalProvider implements ProviderAdapter, LoraTrainer {
  readonly name = "fal";
  private client: FalClient | undefined;

  constructor(private readonly options: FalProviderOptions) {}

  unavailableReason(): string | null {
    return this.options.credentials ? null : "FAL_KEY is not set on this server";
  }

  private async fal(): Promise<FalClient> {
    if (!this.options.credentials) {
      throw new ProviderError("unavailable", "fal.ai models are unavailable: FAL_KEY is not set on this server", { retryable: false, code: "provider_not_configured" });
    }
    const { createFalClient } = await falSdk();
    this.client ??= createFalClient({ credentials: this.options.credentials, suppressLocalCredentialsWarning: true });
    return this.client;
  }

  async run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    const fal = await this.fal();
    const endpoint = falEndpoint(req, entry);
    try {
      let requestId = ctx.existingRequestId;
      if (!requestId) {
        // Mapped only to submit: a resumed request is polled whatever the input rules are now.
        const input = await this.withOwnAssetsUploaded(fal, falInput(req, entry), entry, ctx);
        if (ctx.signal.aborted) throw abortedError(ctx.signal);
        const submitted = await fal.queue.submit(endpoint, { input, abortSignal: ctx.signal });
        requestId = submitted.request_id;
        await this.record(fal, endpoint, requestId, ctx);
      }
      await safeProgress(ctx, 5);
      await this.waitForCompletion(fal, endpoint, requestId, ctx);
      const result = await fal.queue.result(endpoint, { requestId, abortSignal: ctx.signal });
      const data = (result.data ?? {}) as FalOutput;
      await safeProgress(ctx, 92);
      const nsfw = Array.isArray(data.has_nsfw_concepts) && data.has_nsfw_concepts.some(Boolean);
      // Flagged content is not downloaded: the job becomes nsfw_blocked and delivers nothing.
      const outputs = nsfw ? [] : await this.download(data, ctx.signal);
      if (!nsfw && outputs.length === 0) {
        throw new ProviderError("server", `fal.ai returned no output for ${endpoint} (request ${requestId})`, { code: "provider_empty_output" });
      }
      await safeProgress(ctx, 100);
      return { outputs, actualCostMicros: actualCost(entry, req.input, outputs), nsfw };
    } catch (err) {
      throw mapFalError(err, ctx.signal);
    }
  }

  /**
   * fal fetches the images it is given by URL, and one of our own assets (`aeriox-asset://<id>`, or
   * this deployment's asset URL, private or soon expired) is nothing it could load: its bytes go to
   * fal's storage first (the same upload as the training archive) and fal gets that URL instead.
   */
  private async withOwnAssetsUploaded(fal: FalClient, input: Record<string, unknown>, entry: CatalogEntry, ctx: ProviderContext): Promise<Record<string, unknown>> {
    for (const field of new Set(["image_url", entry.imageUrlField ?? "image_url"])) {
      const url = input[field];
      const own = typeof url === "string" ? ctx.readAssetUrl?.(url) : null;
      if (!own) continue;
      const { bytes, contentType } = await own;
      if (ctx.signal.aborted) throw abortedError(ctx.signal);
      input[field] = await fal.storage.upload(new File([new Uint8Array(bytes)], field, { type: contentType }));
    }
    return input;
  }

  async trainLora(o: { archive: Uint8Array; triggerWord: string; from: number; to: number }, ctx: ProviderContext) {
    const fal = await this.fal();
    try {
      let requestId = ctx.existingRequestId;
      if (!requestId) {
        if (ctx.signal.aborted) throw abortedError(ctx.signal);
        const zipUrl = await fal.storage.upload(new File([new Uint8Array(o.archive)], "references.zip", { type: "application/zip" }));
        if (ctx.signal.aborted) throw abortedError(ctx.signal);
        const submitted = await fal.queue.submit(FAL_LORA_TRAINER, {
          input: { images_data_url: zipUrl, trigger_word: o.triggerWord, steps: FAL_LORA_TRAINING_STEPS, create_masks: true },
          abortSignal: ctx.signal,
        });
        requestId = submitted.request_id;
        await this.record(fal, FAL_LORA_TRAINER, requestId, ctx);
      }
      await safeProgress(ctx, o.from);
      await this.waitForCompletion(fal, FAL_LORA_TRAINER, requestId, ctx, { logs: true, from: o.from, to: o.to });
      const result = await fal.queue.result(FAL_LORA_TRAINER, { requestId, abortSignal: ctx.signal });
      const data = (result.data ?? {}) as { diffusion_lora_file?: FalFile; config_file?: FalFile };
      const loraUrl = data.diffusion_lora_file?.url;
      if (typeof loraUrl !== "string" || !/^https:\/\//.test(loraUrl)) {
        throw new ProviderError("server", `fal.ai training ${requestId} returned no LoRA weights`, { retryable: false, code: "provider_empty_output" });
      }
      const configUrl = typeof data.config_file?.url === "string" ? data.config_file.url : null;
      return { requestId, loraUrl, configUrl };
    } catch (err) {
      throw mapFalError(err, ctx.signal);
    }
  }

  async cancelLoraTraining(requestId: string): Promise<void> {
    try {
      await (await this.fal()).queue.cancel(FAL_LORA_TRAINER, { requestId });
    } catch (err) {
      if (isFalApiError(err) && err.status === 400) return;
      throw mapFalError(err, undefined);
    }
  }

  /**
   * Persist the request id before anything else. If that fails, a retry could not resume
   * and would pay fal a second time: cancel this request (best effort) and fail retryably.
   */
  private async record(fal: FalClient, endpoint: string, requestId: string, ctx: ProviderContext): Promise<void> {
    try {
      await ctx.recordRequestId(requestId);
    } catch (err) {
      await fal.queue.cancel(endpoint, { requestId }).catch(() => undefined);
      throw new ProviderError("server", `Could not record fal.ai request ${requestId}; it was cancelled: ${(err as Error).message}`, {
        code: "request_id_not_recorded",
        cause: err,
      });
    }
  }

  private async waitForCompletion(fal: FalClient, endpoint: string, requestId: string, ctx: ProviderContext, o: { logs: boolean; from: number; to: number } = { logs: false, from: 10, to: 90 }): Promise<void> {
    let inProgressPolls = 0;
    for (;;) {
      if (ctx.signal.aborted) throw abortedError(ctx.signal);
      const status = await fal.queue.status(endpoint, { requestId, logs: o.logs, abortSignal: ctx.signal });
      if (status.status === "COMPLETED") return;
      if (status.status === "IN_PROGRESS") {
        // fal gives no percentage: a trainer's logs may say "step N/M"; otherwise creep from `from` towards `to`.
        inProgressPolls++;
        const fraction = o.logs ? stepFraction((status as { logs?: Array<{ message?: unknown }> }).logs) : null;
        await safeProgress(ctx, fraction !== null ? o.from + (o.to - o.from) * fraction : o.to - (o.to - o.from) / (1 + inProgressPolls / 4));
      }
      await sleep(this.options.pollIntervalMs ?? 1000, ctx.signal);
    }
  }

  private async download(data: FalOutput, signal: AbortSignal): Promise<ProviderOutput[]> {
    const files: Array<FalFile & { durationS?: number }> = [];
    for (const image of data.images ?? []) files.push(image);
    if (data.image?.url) files.push(data.image);
    if (data.video?.url) files.push(data.video);
    if (data.audio?.url) files.push(data.audio);
    const outputs: ProviderOutput[] = [];
    for (const file of files) {
      const { bytes, contentType } = await fetchOutput(file.url, {
        policy: this.options.outbound ?? DEFAULT_OUTBOUND_POLICY,
        signal,
        timeoutMs: this.options.downloadTimeoutMs ?? 120_000,
        maxBytes: this.options.maxDownloadBytes ?? 512 * 1024 * 1024,
      });
      outputs.push({
        bytes,
        contentType: file.content_type || contentType,
        ...(file.width ? { width: file.width } : {}),
        ...(file.height ? { height: file.height } : {}),
      });
    }
    return outputs;
  }

  async cancel(requestId: string, _req: ProviderRequest, entry: CatalogEntry): Promise<void> {
    if (entry.kind === "training") return this.cancelLoraTraining(requestId);
    try {
      await (await this.fal()).queue.cancel(falEndpoint(_req, entry), { requestId });
    } catch (err) {
      // 400 = already completed (or cancelled): nothing left to stop.
      if (isFalApiError(err) && err.status === 400) return;
      throw mapFalError(err, undefined);
    }
  }
}

interface FalFile {
  url: string;
  content_type?: string;
  width?: number;
  height?: number;
}
interface FalOutput {
  images?: FalFile[];
  image?: FalFile;
  video?: FalFile;
  audio?: FalFile;
  has_nsfw_concepts?: boolean[];
}

/**
 * fal bills at its list price, which the catalog mirrors: per second of video asked for, and for
 * FLUX per megapixel of the image it made (its reported size; the requested size otherwise), never
 * above the hold.
 */
function actualCost(entry: CatalogEntry, input: Record<string, unknown>, outputs: ProviderOutput[]): bigint {
  const hold = priceFor(entry, input);
  if (entry.unit !== "megapixel") return hold;
  const made = outputs[0];
  if (!made?.width || !made.height) return hold;
  const actual = megapixelPrice(entry, { width: made.width, height: made.height });
  return actual < hold ? actual : hold;
}

/**
 * Which fal endpoint runs the request: the entry's, or its image-to-image endpoint for
 * `seed_image_url` (FLUX dev, FLUX LoRA), or its image-to-video endpoint for `image_url` (Kling).
 * Submit has refused these fields for entries without such an endpoint (generation/capabilities.ts).
 */
export function falEndpoint(req: ProviderRequest, entry: CatalogEntry): string {
  if (entry.kind === "image" && typeof req.input.seed_image_url === "string") {
    if (!entry.imageToImageProviderModel) throw new ProviderError("client", `${entry.model} has no image-to-image endpoint for seed_image_url`, { code: "unsupported_parameter" });
    return entry.imageToImageProviderModel;
  }
  if (entry.kind === "video" && typeof req.input.image_url === "string" && entry.imageToVideoProviderModel) return entry.imageToVideoProviderModel;
  return entry.providerModel;
}

/** Our API request → the fal endpoint's input (flux image endpoints, kling video endpoints). */
export function falInput(req: ProviderRequest, entry: CatalogEntry): Record<string, unknown> {
  const i = req.input;
  const out: Record<string, unknown> = { prompt: i.prompt };
  // Only endpoints that take a negative prompt get one (Kling; not FLUX): submit refuses it for
  // the others (generation/capabilities.ts), so a job carrying one for them is malformed.
  if (i.negative_prompt !== undefined) {
    if (!entry.acceptsNegativePrompt || typeof i.negative_prompt !== "string") throw new ProviderError("client", `${entry.model} takes no negative_prompt`, { code: "unsupported_parameter" });
    out.negative_prompt = i.negative_prompt;
  }
  if (entry.kind === "image") {
    const seeded = typeof i.seed_image_url === "string";
    const size = parseResolution(i.resolution);
    // FLUX image-to-image takes no size (the output follows the seed image); submit refuses one.
    if (seeded) {
      if (i.resolution !== undefined || i.aspect_ratio !== undefined) throw new ProviderError("client", `${entry.model} image-to-image takes no resolution or aspect_ratio`, { code: "unsupported_parameter" });
    } else if (size) out.image_size = size;
    else if (typeof i.aspect_ratio === "string" && FLUX_SIZE_BY_ASPECT[i.aspect_ratio]) out.image_size = FLUX_SIZE_BY_ASPECT[i.aspect_ratio]!.name;
    if (typeof i.seed === "number") out.seed = i.seed;
    const loras = Array.isArray(i.loras) ? [...(i.loras as Array<{ path: string; scale: number }>)] : [];
    // Caller LoRAs only to an endpoint that loads them (fal-ai/flux-lora): submit refuses them for the others.
    if (loras.length && !entry.acceptsLoras) throw new ProviderError("client", `${entry.model} loads no LoRA weights`, { code: "unsupported_parameter" });
    // A trained character contributes its fal-trained LoRA (resolved at submit from character_id,
    // generation/characters-ref.ts, which also moves the job to fal-ai/flux-lora). Only real weights
    // URLs are sent: an `aeriox-asset://` artifact of the offline trainer is nothing fal could load.
    if (typeof i.lora_url === "string" && /^https:\/\//.test(i.lora_url)) {
      loras.push({ path: i.lora_url, scale: typeof i.lora_scale === "number" ? i.lora_scale : 1 });
      // The LoRA was trained to answer to its trigger word: the prompt names it once.
      if (typeof i.lora_trigger === "string" && typeof out.prompt === "string" && !out.prompt.includes(i.lora_trigger)) out.prompt = `${i.lora_trigger}, ${out.prompt}`;
    }
    if (loras.length) out.loras = loras;
    // The seed image's URL goes to fal, which fetches it (we never do for fal models; our own assets
    // are put in fal's storage first: withOwnAssetsUploaded).
    if (seeded) out.image_url = i.seed_image_url;
    out.num_images = 1;
    out.enable_safety_checker = true;
  } else if (entry.kind === "video") {
    // Kling endpoints take the duration as a string enum ("5", "10").
    out.duration = String(videoDurationS(entry, i));
    if (entry.requiresImageUrl && typeof i.image_url !== "string") throw new ProviderError("client", `${entry.model} needs image_url (it is an image-to-video endpoint)`, { code: "invalid_request" });
    if (typeof i.image_url === "string") {
      if (!entry.acceptsImageUrl) throw new ProviderError("client", `${entry.model} takes no image_url`, { code: "unsupported_parameter" });
      out[entry.imageUrlField ?? "image_url"] = i.image_url;
    }
    if (i.motion_id !== undefined) throw new ProviderError("client", `${entry.model} has no camera control for motion_id`, { code: "unsupported_parameter" });
    // Kling text-to-video takes the frame shape (its entry's aspect_ratios); image-to-video follows the start image, and no endpoint takes a size or LoRAs.
    if (i.aspect_ratio !== undefined) {
      if (typeof i.image_url === "string" || !(entry.aspectRatios as string[] | undefined)?.includes(String(i.aspect_ratio))) throw new ProviderError("client", `${entry.model} takes no aspect_ratio ${String(i.aspect_ratio)} here`, { code: "unsupported_parameter" });
      out.aspect_ratio = i.aspect_ratio;
    }
    if (i.resolution !== undefined) throw new ProviderError("client", `${entry.model} makes one fixed output size (no resolution)`, { code: "unsupported_parameter" });
    if (Array.isArray(i.loras) ? i.loras.length > 0 : i.loras !== undefined) throw new ProviderError("client", `${entry.model} loads no LoRA weights`, { code: "unsupported_parameter" });
    if (entry.supportsAudio) out.generate_audio = i.with_audio === true;
  } else {
    throw new ProviderError("client", `fal adapter cannot run ${entry.kind} operations`, { code: "unsupported_operation" });
  }
  return out;
}

/** An error the fal client threw (it exists only once the client was loaded). */
function isFalApiError(err: unknown): err is InstanceType<FalSdk["ApiError"]> {
  const sdk = falSdk.loaded;
  return sdk !== undefined && err instanceof sdk.ApiError;
}

export function mapFalError(err: unknown, signal: AbortSignal | undefined): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return abortedError(signal);
  const sdk = falSdk.loaded;
  if (sdk && err instanceof sdk.ValidationError) {
    const reason = err.fieldErrors.map((f) => `${(f.loc ?? []).filter((p) => p !== "body").join(".") || "input"}: ${f.msg}`).join("; ") || err.message;
    return errorFromStatus("fal.ai", err.status, reason, err);
  }
  if (isFalApiError(err)) {
    const body = err.body as { detail?: unknown; message?: unknown } | undefined;
    const reason = typeof body?.detail === "string" ? body.detail : typeof body?.message === "string" ? body.message : err.message;
    return errorFromStatus("fal.ai", err.status, reason, err);
  }
  const e = err as Error;
  if (e?.name === "TimeoutError") return new ProviderError("timeout", `fal.ai download timed out: ${e.message}`, { cause: err });
  // Network failure (TypeError: fetch failed, ECONNRESET…): transient.
  return new ProviderError("server", `fal.ai call failed: ${e?.message ?? String(err)}`, { cause: err, code: "provider_network_error" });
}

async function fetchOutput(url: string, o: { policy: OutboundPolicy; signal: AbortSignal; timeoutMs: number; maxBytes: number }): Promise<{ bytes: Uint8Array; contentType: string }> {
  try {
    const got = await guardedFetch(url, { ...o, allowDataUrls: true, accept: OUTPUT_CONTENT_TYPES });
    return { bytes: new Uint8Array(got.bytes.buffer, got.bytes.byteOffset, got.bytes.byteLength), contentType: got.contentType || "application/octet-stream" };
  } catch (err) {
    if (!isOutboundFetchError(err)) throw err;
    const reason = `fal.ai output download: ${err.message}`;
    switch (err.code) {
      case "fetch_failed":
        // Our 502 when the CDN answered 4xx: a missing output is fal's fault, not the request's.
        throw err.status ? errorFromStatus("fal.ai CDN", err.status >= 500 ? err.status : 502, reason, err) : new ProviderError("server", reason, { cause: err, code: "provider_network_error" });
      case "fetch_timeout":
        throw new ProviderError("timeout", reason, { cause: err });
      case "fetch_too_large":
        throw new ProviderError("server", reason, { retryable: false, code: "output_too_large", cause: err });
      case "url_not_allowed":
      case "unsupported_content_type":
        throw new ProviderError("server", reason, { retryable: false, code: "provider_bad_output", cause: err });
    }
  }
}

/** "step 250/1000"-like progress in the last log line that has one, as 0..1. */
function stepFraction(logs: Array<{ message?: unknown }> | undefined): number | null {
  for (const log of [...(logs ?? [])].reverse()) {
    const m = typeof log.message === "string" ? /(\d+)\s*\/\s*(\d+)/.exec(log.message) : null;
    if (m && Number(m[2]) > 0) return Math.min(1, Number(m[1]) / Number(m[2]));
  }
  return null;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortedError(signal));
    const onAbort = () => {
      clearTimeout(t);
      reject(abortedError(signal));
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
