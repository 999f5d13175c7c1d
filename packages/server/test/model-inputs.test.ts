/**
 * Per-model inputs through HTTP, against msw handlers speaking fal.ai's queue protocol
 * (issue #12, "no documented input is ignored"):
 * - `negative_prompt` reaches only models that take one: FLUX on fal and local/image refuse it
 *   (400 `unsupported_parameter` naming the field and the model) before anything is reserved or
 *   sent; a model whose catalog entry accepts it (Kling, or an operator's fal model added with
 *   PRICING_FILE) gets it in its fal input. A prism's own negative fragment is dropped for models
 *   without one, and the job records only what was sent.
 * - Kling 2.1 Standard is image-to-video only: without a start image it is 400 `invalid_request`
 *   naming `image_url` and the model, nothing reserved; with one it runs on fal with `image_url`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { falHandlers } from "@aeriox/core/testing/msw";
import { auditWallet } from "@aeriox/core/wallet/snapshot";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

const fal = falHandlers({ statuses: ["IN_QUEUE", "COMPLETED"] });
const mocks = setupServer(...fal.handlers);

const FLUX = ["fal-ai/flux/schnell", "fal-ai/flux/dev", "fal-ai/flux-lora", "fal-ai/flux-pro/v1.1"];
const KLING_STANDARD = "fal-ai/kling-video/v2.1/standard/image-to-video";
const KLING_MASTER = "fal-ai/kling-video/v2.1/master/text-to-video";
/** An operator's fal model that takes a negative prompt (fal's SDXL endpoint has the input). */
const SDXL = "fal-ai/fast-sdxl";
const START_IMAGE = "https://example.com/start.png";

let srv: TestServer;
let key: string;
let workspaceId: string;
let pricingDir: string;

beforeAll(async () => {
  mocks.listen({
    onUnhandledRequest(request, print) {
      if (!["127.0.0.1", "localhost"].includes(new URL(request.url).hostname)) print.error();
    },
  });
  pricingDir = fs.mkdtempSync(path.join(os.tmpdir(), "aeriox-model-inputs-"));
  const pricingFile = path.join(pricingDir, "pricing.json");
  fs.writeFileSync(
    pricingFile,
    JSON.stringify({
      version: 1,
      mode: "patch",
      operations: [
        { operation_id: `image.${SDXL}`, model: SDXL, provider: "fal", kind: "image", unit: "image", price_usd_micros: 2000, max_resolution: "1024x1024", max_duration_s: null, supports_audio: false, accepts_negative_prompt: true },
      ],
    }),
  );
  srv = await startTestServer({ env: { FAL_KEY: "fal-test-key", PRICING_FILE: pricingFile, TRIAL_CREDIT_USD: "50", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "50" } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterEach(async () => {
  fal.reset();
  expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
});
afterAll(async () => {
  await srv?.close();
  mocks.close();
  if (pricingDir) fs.rmSync(pricingDir, { recursive: true, force: true });
});

const post = (p: string, json: unknown) => srv.request(p, { method: "POST", key, json });
type ErrorBody = { error: { code: string; message: string; details: Record<string, unknown> } };

async function refused(res: Response, code: string, field: string, model: string): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  expect(res.status, JSON.stringify(body)).toBe(400);
  expect(body.error.code).toBe(code);
  expect(body.error.details).toMatchObject({ field, model });
  expect(body.error.message).toContain(model);
  return body;
}

/** Runs `refusals` and checks that none of them reserved, created a job or reached fal. */
async function nothingReserved(refusals: () => Promise<void>) {
  const before = await walletOf(srv, key);
  const jobsBefore = await srv.runtime.db.prisma.job.count({ where: { workspaceId } });
  const holdsBefore = await srv.runtime.db.prisma.hold.count({ where: { workspaceId } });
  await refusals();
  expect(await walletOf(srv, key)).toEqual(before);
  expect(await srv.runtime.db.prisma.job.count({ where: { workspaceId } })).toBe(jobsBefore);
  expect(await srv.runtime.db.prisma.hold.count({ where: { workspaceId } })).toBe(holdsBefore);
  expect(fal.stats.submits).toBe(0);
}

async function completed(res: Response): Promise<JobBody> {
  expect(res.status, await res.clone().text()).toBe(202);
  // The deprecated POST /v1/generate answers a Generation, whose id is `generation_id`.
  const queued = (await res.json()) as JobBody & { generation_id?: string };
  const job = await waitForJob(srv, key, queued.job_id ?? queued.generation_id!, 60_000);
  expect(job.status, JSON.stringify(job.error)).toBe("completed");
  return job;
}

async function storedInput(jobId: string): Promise<Record<string, unknown>> {
  const row = await srv.runtime.db.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
  return row.input as Record<string, unknown>;
}

describe("negative_prompt", () => {
  it("is refused for every FLUX model and for local/image, naming the field and the model; nothing reserved or sent", async () => {
    await nothingReserved(async () => {
      for (const model of FLUX) {
        await refused(await post("/v1/images/generate", { model, prompt: "a fox", negative_prompt: "blurry" }), "unsupported_parameter", "body.negative_prompt", model);
      }
      await refused(await post("/v1/images/generate", { model: "local/image", prompt: "a fox", negative_prompt: "blurry" }), "unsupported_parameter", "body.negative_prompt", "local/image");
      // The deprecated endpoint documents negative_prompt too.
      await refused(await post("/v1/generate", { model: "fal-ai/flux/schnell", prompt: "a fox", negative_prompt: "blurry" }), "unsupported_parameter", "body.negative_prompt", "fal-ai/flux/schnell");
      // A prism's params: the caller's own negative prompt is refused where the model takes none.
      await refused(await post("/v1/prisms/cinematic-noir/apply", { image_params: { model: "fal-ai/flux/dev", prompt: "a fox", negative_prompt: "blurry" } }), "unsupported_parameter", "body.image_params.negative_prompt", "fal-ai/flux/dev");
    });
  });

  it("is sent to fal for a model whose catalog entry takes it", async () => {
    const job = await completed(await post("/v1/images/generate", { model: SDXL, prompt: "a fox", negative_prompt: "blurry, text" }));
    expect(fal.stats.submits).toBe(1);
    expect(fal.stats.submitted[0]!.endpoint).toBe(SDXL);
    expect(fal.stats.submitted[0]!.input).toMatchObject({ prompt: "a fox", negative_prompt: "blurry, text" });
    expect(await storedInput(job.job_id)).toMatchObject({ negative_prompt: "blurry, text" });
  });

  it("reaches Kling through the deprecated POST /v1/generate, and is refused by local/video", async () => {
    await completed(await post("/v1/generate", { model: KLING_MASTER, prompt: "waves", negative_prompt: "people", duration: 5 }));
    expect(fal.stats.submitted.map((s) => s.input.negative_prompt)).toEqual(["people"]);
    fal.reset();
    await nothingReserved(async () => {
      await refused(await post("/v1/generate", { model: "local/video", prompt: "waves", negative_prompt: "people", duration: 1 }), "unsupported_parameter", "body.negative_prompt", "local/video");
    });
  }, 60_000);

  it("a prism's own negative fragment is dropped for a model without negative prompts: the request succeeds and records what was sent", async () => {
    // cinematic-noir's recipe has a negative fragment ("color, saturated, cartoon").
    const applied = await completed(await post("/v1/prisms/cinematic-noir/apply", { image_params: { model: "fal-ai/flux/schnell", prompt: "a detective" } }));
    const viaGenerate = await completed(await post("/v1/images/generate", { model: "fal-ai/flux/schnell", prompt: "a detective", prism_id: "cinematic-noir" }));
    expect(fal.stats.submits).toBe(2);
    for (const s of fal.stats.submitted) {
      expect(s.input.prompt).toMatch(/^film noir still, a detective/);
      expect(s.input).not.toHaveProperty("negative_prompt");
    }
    expect((await storedInput(applied.job_id)).params).not.toHaveProperty("negative_prompt");
    expect(await storedInput(viaGenerate.job_id)).not.toHaveProperty("negative_prompt");
  });

  it("a prism's negative fragment is kept, after the caller's own, for a model that takes negative prompts", async () => {
    await completed(await post("/v1/images/generate", { model: SDXL, prompt: "a detective", negative_prompt: "text", prism_id: "cinematic-noir" }));
    expect(fal.stats.submitted[0]!.input.negative_prompt).toBe("text, color, saturated, cartoon");
  });
});

describe("Kling 2.1 Standard needs a start image", () => {
  it("without image_url: 400 naming image_url and the model, on every way in; nothing reserved or sent", async () => {
    await nothingReserved(async () => {
      const body = await refused(await post("/v1/videos/generate", { model: KLING_STANDARD, prompt: "waves", duration_s: 5 }), "invalid_request", "body.image_url", KLING_STANDARD);
      expect(body.error.details.fields).toEqual([{ field: "body.image_url", message: `is required for model ${KLING_STANDARD}` }]);
      await refused(await post("/v1/prisms/vhs-retro/apply", { video_params: { model: KLING_STANDARD, prompt: "waves" } }), "invalid_request", "body.video_params.image_url", KLING_STANDARD);
      // The deprecated endpoint takes the start image as seed_image_url.
      await refused(await post("/v1/generate", { model: KLING_STANDARD, prompt: "waves" }), "invalid_request", "body.seed_image_url", KLING_STANDARD);
    });
  });

  it("with image_url: accepted, and fal gets it as image_url on the image-to-video endpoint", async () => {
    const job = await completed(await post("/v1/videos/generate", { model: KLING_STANDARD, prompt: "waves", duration_s: 5, image_url: START_IMAGE }));
    expect(job.charged_cost_usd).toBe(job.estimated_cost_usd);
    expect(fal.stats.submits).toBe(1);
    expect(fal.stats.submitted[0]!.endpoint).toBe(KLING_STANDARD);
    expect(fal.stats.submitted[0]!.input).toMatchObject({ prompt: "waves", duration: "5", image_url: START_IMAGE });
  }, 60_000);

  it("the text-to-video Kling models still run without an image", async () => {
    await completed(await post("/v1/videos/generate", { model: KLING_MASTER, prompt: "waves", duration_s: 5 }));
    expect(fal.stats.submitted[0]!.endpoint).toBe(KLING_MASTER);
    expect(fal.stats.submitted[0]!.input).not.toHaveProperty("image_url");
  }, 60_000);
});
