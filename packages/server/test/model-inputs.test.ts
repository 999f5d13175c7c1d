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
 *   `POST /v1/estimate` (which carries no image) reports it in `reasons_blocked`.
 * - `GET /v1/models` shows each capability the checks read (accepts_negative_prompt,
 *   requires_image_url, accepts_loras, aspect_ratios, accepts_resolution).
 * - `loras` reach only fal-ai/flux-lora; the deprecated POST /v1/generate carries `aspect_ratio`,
 *   `resolution` and `loras` to a video model that honours them (Kling text-to-video: aspect_ratio;
 *   local/video: both) and refuses the rest, and refuses `duration` / `with_audio` for images.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { falHandlers } from "@aeriox/core/testing/msw";
import { probeMedia } from "@aeriox/core/media";
import { auditWallet } from "@aeriox/core/wallet";
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

describe("GET /v1/models shows what each model takes", () => {
  it("negative prompt, start image, LoRAs, aspect ratios and resolution, from the catalog", async () => {
    const res = await srv.request("/v1/models", { key });
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as { data: Array<Record<string, unknown> & { model_id: string; type: string }> };
    const by = (id: string) => data.find((m) => m.model_id === id)!;
    for (const model of FLUX) {
      expect(by(model)).toMatchObject({ accepts_negative_prompt: false, accepts_loras: model === "fal-ai/flux-lora" });
    }
    expect(by("local/image")).toMatchObject({ accepts_negative_prompt: false, accepts_loras: false });
    expect(by(SDXL)).toMatchObject({ accepts_negative_prompt: true, accepts_loras: false });
    expect(by(KLING_STANDARD)).toMatchObject({ accepts_negative_prompt: true, accepts_image_url: true, requires_image_url: true, aspect_ratios: [], accepts_resolution: false });
    expect(by(KLING_MASTER)).toMatchObject({ accepts_negative_prompt: true, requires_image_url: false, aspect_ratios: ["16:9", "9:16", "1:1"], accepts_resolution: false });
    expect(by("local/video")).toMatchObject({ accepts_negative_prompt: false, requires_image_url: false, aspect_ratios: ["1:1", "16:9", "9:16", "4:3", "3:4"], accepts_resolution: true });
    // Each flag belongs to its kind only.
    for (const m of data) {
      if (m.type !== "image") expect(m).not.toHaveProperty("accepts_loras");
      if (m.type !== "video") for (const k of ["requires_image_url", "aspect_ratios", "accepts_resolution"]) expect(m).not.toHaveProperty(k);
      if (m.type !== "image" && m.type !== "video") expect(m).not.toHaveProperty("accepts_negative_prompt");
    }
  });
});

describe("POST /v1/estimate for an image-to-video-only model", () => {
  type Estimate = { would_succeed: boolean; reasons_blocked: string[]; usd: number };
  const estimate = async (json: unknown) => {
    const res = await post("/v1/estimate", json);
    expect(res.status).toBe(200);
    return (await res.json()) as Estimate;
  };

  it("Kling 2.1 Standard is blocked with image_url_required (an estimate carries no image); the text-to-video Kling is not", async () => {
    const standard = await estimate({ model: KLING_STANDARD, prompt: "waves", duration: 5 });
    expect(standard.would_succeed).toBe(false);
    expect(standard.reasons_blocked).toEqual(["image_url_required"]);
    expect(standard.usd).toBe(0.25); // still priced
    const master = await estimate({ model: KLING_MASTER, prompt: "waves", duration: 5 });
    expect(master).toMatchObject({ would_succeed: true, reasons_blocked: [] });
  });
});

describe("loras reach only a model that loads them", () => {
  const LORAS = [{ path: "https://example.com/fox.safetensors", scale: 0.8 }];

  it("refused by FLUX [schnell]/[dev]/1.1 [pro] and local/image on every way in, naming the field and the model; nothing reserved or sent", async () => {
    await nothingReserved(async () => {
      for (const model of [...FLUX.filter((m) => m !== "fal-ai/flux-lora"), "local/image"]) {
        await refused(await post("/v1/images/generate", { model, prompt: "a fox", loras: LORAS }), "unsupported_parameter", "body.loras", model);
        await refused(await post("/v1/generate", { model, prompt: "a fox", loras: LORAS }), "unsupported_parameter", "body.loras", model);
      }
    });
  });

  it("sent to fal-ai/flux-lora; an empty list asks for nothing", async () => {
    await completed(await post("/v1/images/generate", { model: "fal-ai/flux-lora", prompt: "a fox", loras: LORAS }));
    expect(fal.stats.submitted[0]!.endpoint).toBe("fal-ai/flux-lora");
    expect(fal.stats.submitted[0]!.input.loras).toEqual(LORAS);
    await completed(await post("/v1/generate", { model: "fal-ai/flux-lora", prompt: "a fox", loras: LORAS }));
    expect(fal.stats.submitted[1]!.input.loras).toEqual(LORAS);
    await completed(await post("/v1/images/generate", { model: "fal-ai/flux/schnell", prompt: "a fox", loras: [] }));
    expect(fal.stats.submitted[2]!.input).not.toHaveProperty("loras");
  });
});

describe("POST /v1/generate (deprecated) with a video model: aspect_ratio, resolution, loras", () => {
  it("Kling text-to-video gets aspect_ratio", async () => {
    const queued = await completed(await post("/v1/generate", { model: KLING_MASTER, prompt: "waves", aspect_ratio: "9:16", duration: 5 }));
    expect(fal.stats.submits).toBe(1);
    expect(fal.stats.submitted[0]!.endpoint).toBe(KLING_MASTER);
    expect(fal.stats.submitted[0]!.input).toMatchObject({ prompt: "waves", aspect_ratio: "9:16", duration: "5" });
    expect(await storedInput(queued.job_id)).toMatchObject({ aspect_ratio: "9:16" });
  }, 60_000);

  it("refuses what a video model cannot honour, naming the field and the model; nothing reserved or sent", async () => {
    await nothingReserved(async () => {
      // Kling makes 16:9, 9:16 and 1:1 only.
      const shape = await refused(await post("/v1/generate", { model: KLING_MASTER, prompt: "waves", aspect_ratio: "4:3" }), "unsupported_parameter", "body.aspect_ratio", KLING_MASTER);
      expect(shape.error.details.supported).toEqual(["16:9", "9:16", "1:1"]);
      // An image-to-video run follows its start image.
      await refused(await post("/v1/generate", { model: KLING_MASTER, prompt: "waves", aspect_ratio: "16:9", seed_image_url: START_IMAGE }), "unsupported_parameter", "body.aspect_ratio", KLING_MASTER);
      await refused(await post("/v1/generate", { model: KLING_STANDARD, prompt: "waves", aspect_ratio: "16:9", seed_image_url: START_IMAGE }), "unsupported_parameter", "body.aspect_ratio", KLING_STANDARD);
      // Kling makes one fixed size.
      await refused(await post("/v1/generate", { model: KLING_MASTER, prompt: "waves", resolution: "1280x720" }), "unsupported_parameter", "body.resolution", KLING_MASTER);
      await refused(await post("/v1/generate", { model: KLING_STANDARD, prompt: "waves", resolution: "720p", seed_image_url: START_IMAGE }), "unsupported_parameter", "body.resolution", KLING_STANDARD);
      // No video model loads LoRAs.
      for (const model of [KLING_MASTER, "local/video"]) {
        await refused(await post("/v1/generate", { model, prompt: "waves", loras: [{ path: "owner/lora", scale: 1 }] }), "unsupported_parameter", "body.loras", model);
      }
      // local/video: over its max_resolution (1280x720), or not a size at all.
      const tooBig = await post("/v1/generate", { model: "local/video", prompt: "waves", resolution: "1920x1080" });
      expect(tooBig.status).toBe(400);
      expect(((await tooBig.json()) as ErrorBody).error).toMatchObject({ code: "invalid_resolution", details: { field: "body.resolution", max_resolution: "1280x720" } });
      const garbage = await post("/v1/generate", { model: "local/video", prompt: "waves", resolution: "big" });
      expect(garbage.status).toBe(400);
      expect(((await garbage.json()) as ErrorBody).error).toMatchObject({ code: "invalid_resolution", details: { field: "body.resolution" } });
      await refused(await post("/v1/generate", { model: "local/video", prompt: "waves", aspect_ratio: "2:1" }), "unsupported_parameter", "body.aspect_ratio", "local/video");
    });
  });

  it("local/video makes the frame asked for by aspect_ratio or resolution", async () => {
    const sizeOf = async (job: JobBody) => {
      const res = await fetch(job.output_urls![0]!);
      expect(res.status).toBe(200);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aeriox-model-inputs-video-"));
      try {
        const file = path.join(dir, "out.mp4");
        fs.writeFileSync(file, Buffer.from(await res.arrayBuffer()));
        const info = await probeMedia(file);
        return { width: info.width, height: info.height };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    };
    const portrait = await completed(await post("/v1/generate", { model: "local/video", prompt: "waves", aspect_ratio: "9:16", duration: 1 }));
    const portraitSize = await sizeOf(portrait);
    expect(portraitSize.height!).toBeGreaterThan(portraitSize.width!);
    expect(Math.abs(portraitSize.width! / portraitSize.height! - 9 / 16)).toBeLessThan(0.02);
    const sized = await completed(await post("/v1/generate", { model: "local/video", prompt: "waves", resolution: "320x240", duration: 1 }));
    expect(await sizeOf(sized)).toEqual({ width: 320, height: 240 });
    expect(await storedInput(sized.job_id)).toMatchObject({ resolution: "320x240" });
  }, 60_000);
});

describe("POST /v1/generate (deprecated) with an image model: duration and with_audio", () => {
  it("are refused, naming the field and the model; nothing reserved or sent", async () => {
    await nothingReserved(async () => {
      await refused(await post("/v1/generate", { model: "fal-ai/flux/schnell", prompt: "a fox", duration: 5 }), "unsupported_parameter", "body.duration", "fal-ai/flux/schnell");
      await refused(await post("/v1/generate", { model: "local/image", prompt: "a fox", with_audio: true }), "unsupported_parameter", "body.with_audio", "local/image");
    });
    // with_audio: false asks for nothing an image lacks.
    await completed(await post("/v1/generate", { model: "local/image", prompt: "a fox", with_audio: false }));
  });
});

describe("Kling 2.1 makes 5 or 10 s clips only, Kling 3.0 3 to 15 s (durations_s)", () => {
  it("any other duration is 400 unsupported_parameter naming the field, the model and the allowed values, on every way in; nothing reserved or sent", async () => {
    await nothingReserved(async () => {
      const standard = await refused(await post("/v1/videos/generate", { model: KLING_STANDARD, prompt: "waves", duration_s: 7, image_url: START_IMAGE }), "unsupported_parameter", "body.duration_s", KLING_STANDARD);
      expect(standard.error.details.supported).toEqual([5, 10]);
      expect(standard.error.message).toContain("5 or 10");
      for (const duration_s of [1, 6, 9]) {
        await refused(await post("/v1/videos/generate", { model: KLING_MASTER, prompt: "waves", duration_s }), "unsupported_parameter", "body.duration_s", KLING_MASTER);
      }
      // The deprecated endpoint's field is `duration`; a prism's params are named where they sit.
      await refused(await post("/v1/generate", { model: KLING_MASTER, prompt: "waves", duration: 8 }), "unsupported_parameter", "body.duration", KLING_MASTER);
      await refused(await post("/v1/generate", { model: KLING_STANDARD, prompt: "waves", duration: 3, seed_image_url: START_IMAGE }), "unsupported_parameter", "body.duration", KLING_STANDARD);
      await refused(await post("/v1/prisms/vhs-retro/apply", { video_params: { model: KLING_MASTER, prompt: "waves", duration_s: 6 } }), "unsupported_parameter", "body.video_params.duration_s", KLING_MASTER);
      // Kling 3.0 makes 3 to 15 s.
      const v3 = await refused(await post("/v1/videos/generate", { model: "fal-ai/kling-video/v3/pro/text-to-video", prompt: "waves", duration_s: 2 }), "unsupported_parameter", "body.duration_s", "fal-ai/kling-video/v3/pro/text-to-video");
      expect(v3.error.details.supported).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
      expect(v3.error.message).toContain("3 to 15 s");
      // Over max_duration_s stays 400 duration_too_long.
      const long = await post("/v1/videos/generate", { model: KLING_MASTER, prompt: "waves", duration_s: 12 });
      expect(long.status).toBe(400);
      expect(((await long.json()) as ErrorBody).error.code).toBe("duration_too_long");
    });
  });

  it("a prism's own duration the model does not make is dropped (the model's default is used), not refused", async () => {
    // silent-film's recipe asks for 4 s.
    const viaGenerate = await completed(await post("/v1/videos/generate", { model: KLING_MASTER, prompt: "a street", prism_id: "silent-film" }));
    expect(await storedInput(viaGenerate.job_id)).not.toHaveProperty("duration_s");
    const applied = await completed(await post("/v1/prisms/silent-film/apply", { video_params: { model: KLING_MASTER, prompt: "a street" } }));
    expect((await storedInput(applied.job_id)).params).not.toHaveProperty("duration_s");
    expect(fal.stats.submitted.map((s) => s.input.duration)).toEqual(["5", "5"]);
    // On a model that makes 4 s it is kept.
    await completed(await post("/v1/videos/generate", { model: "fal-ai/kling-video/v3/pro/text-to-video", prompt: "a street", prism_id: "silent-film" }));
    expect(fal.stats.submitted[2]!.input.duration).toBe("4");
  }, 60_000);

  it("10 s reaches fal as \"10\"; Kling 3.0 takes 7 s, local/video any whole number up to its maximum", async () => {
    await completed(await post("/v1/videos/generate", { model: KLING_MASTER, prompt: "waves", duration_s: 10 }));
    expect(fal.stats.submitted[0]!.input).toMatchObject({ duration: "10" });
    await completed(await post("/v1/videos/generate", { model: "fal-ai/kling-video/v3/pro/text-to-video", prompt: "waves", duration_s: 7 }));
    expect(fal.stats.submitted[1]!.input).toMatchObject({ duration: "7" });
    await completed(await post("/v1/videos/generate", { model: "local/video", prompt: "waves", duration_s: 3 }));
  }, 60_000);

  it("GET /v1/models lists durations_s for the models that make some durations only", async () => {
    const { data } = (await (await srv.request("/v1/models", { key })).json()) as { data: Array<Record<string, unknown> & { model_id: string }> };
    const by = (id: string) => data.find((m) => m.model_id === id)!;
    expect(by(KLING_STANDARD).durations_s).toEqual([5, 10]);
    expect(by(KLING_MASTER).durations_s).toEqual([5, 10]);
    expect(by("fal-ai/kling-video/v3/pro/text-to-video").durations_s).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(by("local/video")).not.toHaveProperty("durations_s");
  });

  it("POST /v1/estimate refuses a duration the model does not make (400, as over its maximum)", async () => {
    const res = await post("/v1/estimate", { model: KLING_MASTER, prompt: "waves", duration: 7 });
    const body = await refused(res, "unsupported_parameter", "body.duration", KLING_MASTER);
    expect(body.error.details.supported).toEqual([5, 10]);
    const ok = await post("/v1/estimate", { model: KLING_MASTER, prompt: "waves", duration: 10 });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ usd: 2.8, would_succeed: true });
  });
});

describe("POST /v1/estimate with image_url", () => {
  it("Kling 2.1 Standard with a start image would succeed (the image is not fetched)", async () => {
    const res = await post("/v1/estimate", { model: KLING_STANDARD, prompt: "waves", duration: 10, image_url: START_IMAGE });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ would_succeed: true, reasons_blocked: [], usd: 0.5 });
    expect(fal.stats.submits).toBe(0);
  });

  it("a model that takes no start image answers 400 unsupported_parameter naming image_url, as the generation would", async () => {
    for (const model of ["local/video", "fal-ai/flux/schnell", "local/tts"]) {
      await refused(await post("/v1/estimate", { model, prompt: "waves", image_url: START_IMAGE }), "unsupported_parameter", "body.image_url", model);
    }
    // The text-to-video Kling takes one (its image-to-video endpoint).
    const master = await post("/v1/estimate", { model: KLING_MASTER, prompt: "waves", image_url: START_IMAGE });
    expect(await master.json()).toMatchObject({ would_succeed: true, reasons_blocked: [] });
  });
});

describe("local/echo returns one fixed 1x1 image (fixed_output)", () => {
  const ECHO = "local/echo";

  it("refuses resolution, aspect_ratio, seed and character_id, naming the field and the model, on every way in; nothing reserved", async () => {
    await nothingReserved(async () => {
      for (const [field, value] of [["resolution", "512x512"], ["aspect_ratio", "16:9"], ["seed", 42], ["character_id", "00000000-0000-4000-8000-000000000001"]] as const) {
        await refused(await post("/v1/images/generate", { model: ECHO, prompt: "x", [field]: value }), "unsupported_parameter", `body.${field}`, ECHO);
      }
      await refused(await post("/v1/generate", { model: ECHO, prompt: "x", aspect_ratio: "1:1" }), "unsupported_parameter", "body.aspect_ratio", ECHO);
      await refused(await post("/v1/generate", { model: ECHO, prompt: "x", resolution: "64x64" }), "unsupported_parameter", "body.resolution", ECHO);
      await refused(await post("/v1/prisms/cinematic-noir/apply", { image_params: { model: ECHO, prompt: "x", seed: 7 } }), "unsupported_parameter", "body.image_params.seed", ECHO);
    });
  });

  it("still answers without them, and GET /v1/models says fixed_output for it only", async () => {
    const job = await completed(await post("/v1/images/generate", { model: ECHO, prompt: "x" }));
    expect(job.output_urls).toHaveLength(1);
    // A prism's own size defaults (cinematic-noir's aspect_ratio) are dropped for it, not refused: the job records what was used.
    const viaGenerate = await completed(await post("/v1/images/generate", { model: ECHO, prompt: "x", prism_id: "cinematic-noir" }));
    expect(await storedInput(viaGenerate.job_id)).not.toHaveProperty("aspect_ratio");
    const applied = await completed(await post("/v1/prisms/cinematic-noir/apply", { image_params: { model: ECHO, prompt: "x" } }));
    expect((await storedInput(applied.job_id)).params).not.toHaveProperty("aspect_ratio");
    const { data } = (await (await srv.request("/v1/models", { key })).json()) as { data: Array<Record<string, unknown> & { model_id: string; type: string }> };
    for (const m of data) {
      if (m.type === "image") expect(m.fixed_output).toBe(m.model_id === ECHO);
      else expect(m).not.toHaveProperty("fixed_output");
    }
  });
});
