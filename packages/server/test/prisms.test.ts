/**
 * Prisms through HTTP: the catalog with filters; apply with image_params / video_params
 * (a prism_apply job priced prism + generation, recipe applied, PNG output), apply to a
 * stored asset (offline transform: image via pngjs, video via ffmpeg, audio filter),
 * exactly-one-of validation, unknown prism 404, incompatible media 400, ledger invariants.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { meanRgb } from "@aeriox/core/characters";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;
let key: string;
let workspaceId: string;

beforeAll(async () => {
  srv = await startTestServer({ env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "50", TRIAL_CREDIT_USD: "50" } });
  ({ key, workspace_id: workspaceId } = await srv.createKey());
});
afterAll(() => srv?.close());
afterEach(async () => {
  const audit = await auditWallet(srv.runtime.db, workspaceId);
  expect(audit.problems).toEqual([]);
});

type PrismJob = JobBody & { prism_id?: string; model: string | null };
type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

async function apply(id: string, body: unknown, k = key) {
  return srv.request(`/v1/prisms/${id}/apply`, { method: "POST", key: k, json: body });
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

async function generated(path: string, body: unknown): Promise<JobBody> {
  const res = await srv.request(path, { method: "POST", key, json: body });
  expect(res.status).toBe(202);
  const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id, 60_000);
  expect(job.status).toBe("completed");
  return job;
}

const PNG_MAGIC = "89504e470d0a1a0a";

describe("GET /v1/prisms", () => {
  it("lists the catalog and filters by category and compatible media", async () => {
    const all = (await (await srv.request("/v1/prisms", { key })).json()) as { data: Array<{ id: string; category: string; compatible_with: string[]; recipe?: unknown }> };
    expect(all.data.length).toBeGreaterThanOrEqual(12);
    expect(all.data.map((p) => p.id)).toContain("cinematic-noir");
    expect(all.data.every((p) => p.recipe === undefined)).toBe(true);

    const retro = (await (await srv.request("/v1/prisms?category=retro", { key })).json()) as typeof all;
    expect(retro.data.length).toBeGreaterThan(0);
    expect(retro.data.every((p) => p.category === "retro")).toBe(true);

    const audio = (await (await srv.request("/v1/prisms?compatible_with=audio", { key })).json()) as typeof all;
    expect(audio.data.map((p) => p.id)).toEqual(["lofi-radio", "telephone-call", "cathedral-echo", "warm-tape"]);

    const none = (await (await srv.request("/v1/prisms?category=nope", { key })).json()) as typeof all;
    expect(none.data).toEqual([]);
    expect((await srv.request("/v1/prisms?compatible_with=smell", { key })).status).toBe(400);
  });
});

describe("POST /v1/prisms/{id}/apply with params", () => {
  it("image_params: a prism_apply job priced prism + generation, recipe in the prompt, a transformed PNG", async () => {
    const before = await walletOf(srv, key);
    const res = await apply("cinematic-noir", { image_params: { model: "local/image", prompt: "a detective in the rain", seed: 3 } });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as PrismJob;
    expect(queued.type).toBe("prism_apply");
    expect(queued.prism_id).toBe("cinematic-noir");
    expect(queued.model).toBe("local/image");
    const genPrice = Number(srv.runtime.catalog.byModel("local/image")!.priceMicros);
    const prismPrice = Number(srv.runtime.catalog.byOperation("prism.apply")!.priceMicros);
    expect(Math.round(queued.estimated_cost_usd! * 1e6)).toBe(genPrice + prismPrice);

    const job = (await waitForJob(srv, key, queued.job_id)) as PrismJob;
    expect(job.status).toBe("completed");
    expect(job.prism_id).toBe("cinematic-noir");
    expect(job.charged_cost_usd).toBe(queued.estimated_cost_usd);
    const png = await download(job.output_urls![0]!);
    expect(png.subarray(0, 8).toString("hex")).toBe(PNG_MAGIC);
    const [r, g, b] = meanRgb(png)!;
    expect(r).toBe(g); // noir: grayscale
    expect(g).toBe(b);
    expect(png.readUInt32BE(16)).toBeGreaterThan(png.readUInt32BE(20)); // the recipe's 16:9 default

    const row = await srv.runtime.db.prisma.job.findUniqueOrThrow({ where: { id: queued.job_id } });
    const params = (row.input as { params: { prompt: string; negative_prompt?: string } }).params;
    expect(params.prompt).toMatch(/^film noir still, a detective in the rain, black and white/);
    // local/image takes no negative prompt: the recipe's negative fragment is not sent, so not recorded.
    expect(params).not.toHaveProperty("negative_prompt");

    const after = await walletOf(srv, key);
    expect(before.available_micros - after.available_micros).toBe(genPrice + prismPrice);
    expect(after.reserved_micros).toBe(0);
  });

  it("video_params: delegates to local/video", async () => {
    const res = await apply("vhs-retro", { video_params: { model: "local/video", prompt: "a skateboard trick", duration_s: 1 } });
    expect(res.status).toBe(202);
    const job = (await waitForJob(srv, key, ((await res.json()) as PrismJob).job_id, 60_000)) as PrismJob;
    expect(job.status).toBe("completed");
    expect(job.prism_id).toBe("vhs-retro");
    const mp4 = await download(job.output_urls![0]!);
    expect(mp4.subarray(4, 8).toString()).toBe("ftyp");
  });
});

describe("POST /v1/prisms/{id}/apply with asset_id", () => {
  it("transforms a stored PNG into a new, different PNG", async () => {
    const source = await generated("/v1/images/generate", { model: "local/image", prompt: "a bright parrot", seed: 11 });
    const original = await download(source.output_urls![0]!);
    const t0 = Date.now();
    const res = await apply("vintage-sepia", { asset_id: source.asset_ids![0] });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as PrismJob;
    expect(queued.estimated_cost_usd).toBe(0.01);
    const job = (await waitForJob(srv, key, queued.job_id)) as PrismJob;
    console.log(`prism on a PNG asset: ${Date.now() - t0} ms end to end`);
    expect(job.status).toBe("completed");
    expect(job.prism_id).toBe("vintage-sepia");
    expect(job.charged_cost_usd).toBe(0.01);
    expect(job.asset_ids![0]).not.toBe(source.asset_ids![0]);
    const out = await download(job.output_urls![0]!);
    expect(out.subarray(0, 8).toString("hex")).toBe(PNG_MAGIC);
    expect(out.equals(original)).toBe(false);
    expect(out.readUInt32BE(16)).toBe(original.readUInt32BE(16)); // same size
    const [r, , b] = meanRgb(out)!;
    expect(r).toBeGreaterThan(b); // sepia is warm
  });

  it("transforms a video with ffmpeg and an audio clip with the recipe's filter", async () => {
    const video = await generated("/v1/videos/generate", { model: "local/video", prompt: "waves", duration_s: 2 });
    const t0 = Date.now();
    const res = await apply("cinematic-noir", { asset_id: video.asset_ids![0] });
    expect(res.status).toBe(202);
    const job = await waitForJob(srv, key, ((await res.json()) as PrismJob).job_id, 60_000);
    console.log(`prism on a 2 s video asset: ${Date.now() - t0} ms end to end`);
    expect(job.status).toBe("completed");
    const mp4 = await download(job.output_urls![0]!);
    expect(mp4.subarray(4, 8).toString()).toBe("ftyp");

    const audioRes = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "hello radio", model: "local/tts" } });
    const audio = await waitForJob(srv, key, ((await audioRes.json()) as JobBody).job_id);
    const res2 = await apply("lofi-radio", { asset_id: audio.asset_ids![0] });
    expect(res2.status).toBe(202);
    const job2 = await waitForJob(srv, key, ((await res2.json()) as PrismJob).job_id);
    expect(job2.status).toBe("completed");
    const wav = await download(job2.output_urls![0]!);
    expect(wav.subarray(0, 4).toString()).toBe("RIFF");
  });

  it("another workspace's asset is 400 asset_not_found naming the field; nothing reserved", async () => {
    const source = await generated("/v1/images/generate", { model: "local/image", prompt: "mine" });
    const other = await srv.createKey();
    const res = await apply("cinematic-noir", { asset_id: source.asset_ids![0] }, other.key);
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe("asset_not_found");
    expect(body.error.details?.field).toBe("body.asset_id");
    expect((await walletOf(srv, other.key)).reserved_micros).toBe(0);
  });
});

describe("prism_id on the generate endpoints", () => {
  it("applies the prompt recipe to an image job; unknown or incompatible prism_id is 400", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "a harbour", prism_id: "golden-hour" } });
    expect(res.status).toBe(202);
    const queued = (await res.json()) as PrismJob;
    expect(queued.type).toBe("image");
    const row = await srv.runtime.db.prisma.job.findUniqueOrThrow({ where: { id: queued.job_id } });
    expect((row.input as { prompt: string }).prompt).toBe("a harbour, golden hour, warm backlight, lens flare, soft haze");
    expect((await waitForJob(srv, key, queued.job_id)).status).toBe("completed");

    const unknown = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "x", prism_id: "nope" } });
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as ErrorBody).error).toMatchObject({ code: "prism_not_found", details: { field: "body.prism_id" } });
    const audioPrism = await srv.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "x", prism_id: "lofi-radio" } });
    expect(audioPrism.status).toBe(400);
    expect(((await audioPrism.json()) as ErrorBody).error.code).toBe("prism_incompatible");
  });
});

describe("validation", () => {
  it("exactly one of asset_id, image_params, video_params", async () => {
    const none = await apply("cinematic-noir", {});
    expect(none.status).toBe(400);
    const noneBody = (await none.json()) as ErrorBody;
    expect(noneBody.error.details?.fields).toEqual(["body.asset_id", "body.image_params", "body.video_params"]);

    const two = await apply("cinematic-noir", { image_params: { model: "local/image", prompt: "a" }, video_params: { model: "local/video", prompt: "b" } });
    expect(two.status).toBe(400);
    const twoBody = (await two.json()) as ErrorBody;
    expect(twoBody.error.details?.fields).toEqual(["body.image_params", "body.video_params"]);
    expect(twoBody.error.message).toContain("image_params, video_params");
  });

  it("unknown prism is 404; incompatible media is 400 prism_incompatible", async () => {
    const unknown = await apply("no-such-prism", { image_params: { model: "local/image", prompt: "a" } });
    expect(unknown.status).toBe(404);

    const audioOnly = await apply("lofi-radio", { image_params: { model: "local/image", prompt: "a" } });
    expect(audioOnly.status).toBe(400);
    expect(((await audioOnly.json()) as ErrorBody).error.code).toBe("prism_incompatible");

    const imageOnly = await apply("pastel-dream", { video_params: { model: "local/video", prompt: "a" } });
    expect(imageOnly.status).toBe(400);
    expect(((await imageOnly.json()) as ErrorBody).error.code).toBe("prism_incompatible");

    const audioRes = await srv.request("/v1/audio/generate", { method: "POST", key, json: { text: "hi", model: "local/tts" } });
    const audio = await waitForJob(srv, key, ((await audioRes.json()) as JobBody).job_id);
    const onAudio = await apply("pastel-dream", { asset_id: audio.asset_ids![0] });
    expect(onAudio.status).toBe(400);
    const body = (await onAudio.json()) as ErrorBody;
    expect(body.error.code).toBe("prism_incompatible");
    expect(body.error.details?.field).toBe("body.asset_id");

    const wrongKind = await apply("cinematic-noir", { image_params: { model: "local/video", prompt: "a" } });
    expect(wrongKind.status).toBe(400);
    expect(((await wrongKind.json()) as ErrorBody).error.code).toBe("model_kind_mismatch");
  });
});
