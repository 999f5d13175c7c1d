import { http as mock, HttpResponse } from "msw";
import { setupServer } from "msw/node";
import { PNG } from "pngjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import { createProviders } from "../../src/providers/registry.ts";
import type { ProviderRequest } from "../../src/providers/types.ts";
import { FAL_CDN_URL, FAL_QUEUE_URL, falHandlers, falValidationError } from "../msw/fal.ts";
import { renderProceduralPng } from "../../src/media/procedural-png.ts";
import { entry, FAKE_PUBLIC_URL, fakeContext } from "./fake-context.ts";
import { probeBytes } from "./media-probe.ts";

const fal = falHandlers();
const server = setupServer(...fal.handlers);
beforeAll(() => server.listen({ onUnhandledRequest: "error" }));
afterEach(() => fal.reset());
afterAll(() => server.close());

const make = (falKey: string | undefined) =>
  createProviders({ FAL_KEY: falKey, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry(), fal: { pollIntervalMs: 5 } });
const providers = make("test-key:secret");
const schnell = entry("fal-ai/flux/schnell");
const imageReq = (input: Record<string, unknown> = {}): ProviderRequest => ({
  jobId: "job-f",
  kind: "image",
  model: "fal-ai/flux/schnell",
  input: { model: "fal-ai/flux/schnell", prompt: "a lighthouse", ...input },
});

describe("fal adapter", () => {
  it("submits once, records the request id before polling, reports status progress, downloads the image", async () => {
    fal.set({ statuses: ["IN_QUEUE", "IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "COMPLETED"] });
    const ctx = fakeContext();
    const result = await providers.forEntry(schnell).run(imageReq({ aspect_ratio: "16:9", seed: 3, lora_url: "https://example.com/char.safetensors" }), ctx);
    expect(fal.stats.submits).toBe(1);
    expect(ctx.recordedIds).toEqual([fal.stats.submitted[0]!.requestId]);
    expect(fal.stats.statusCalls).toBe(5);
    expect(fal.stats.submitted[0]!.endpoint).toBe("fal-ai/flux/schnell");
    expect(fal.stats.submitted[0]!.input).toMatchObject({
      prompt: "a lighthouse",
      image_size: "landscape_16_9",
      seed: 3,
      loras: [{ path: "https://example.com/char.safetensors", scale: 1 }],
      enable_safety_checker: true,
    });
    // Progress only goes up and ends at 100.
    expect(ctx.progress).toEqual([...ctx.progress].sort((a, b) => a - b));
    expect(ctx.progress.at(-1)).toBe(100);
    expect(new Set(ctx.progress).size).toBeGreaterThanOrEqual(4);
    const out = result.outputs[0]!;
    expect(out.contentType).toBe("image/png");
    expect(PNG.sync.read(Buffer.from(out.bytes)).width).toBe(64);
    expect(result).toMatchObject({ nsfw: false, actualCostMicros: 3000n });
  });

  it("maps resolution to image_size {width, height}; bills the megapixels fal made, never above the hold", async () => {
    const result = await providers.forEntry(schnell).run(imageReq({ resolution: "1536x1024" }), fakeContext());
    expect(fal.stats.submitted[0]!.input).toMatchObject({ image_size: { width: 1536, height: 1024 } });
    expect(fal.stats.submitted[0]!.endpoint).toBe("fal-ai/flux/schnell");
    // The mock answers a 64×64 image: 1 MP billed, though 2 MP (1536×1024) were held.
    expect(result.actualCostMicros).toBe(3000n);
  });

  it("seed_image_url runs the model's image-to-image endpoint with image_url (fal fetches it) and no size", async () => {
    const dev = entry("fal-ai/flux/dev");
    await providers.forEntry(dev).run({ jobId: "j", kind: "image", model: dev.model, input: { prompt: "p", seed_image_url: "https://example.com/seed.png" } }, fakeContext());
    expect(fal.stats.submitted[0]!.endpoint).toBe("fal-ai/flux/dev/image-to-image");
    expect(fal.stats.submitted[0]!.input).toMatchObject({ image_url: "https://example.com/seed.png" });
    expect(fal.stats.submitted[0]!.input).not.toHaveProperty("image_size");
    // A model without one refuses rather than dropping the seed.
    const err = await providers.forEntry(schnell).run(imageReq({ seed_image_url: "https://example.com/seed.png" }), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "client", code: "unsupported_parameter" });
  });

  it("an image of our own (aeriox-asset:// or this deployment's asset URL) goes to fal's storage, and fal gets that URL", async () => {
    const png = renderProceduralPng("seed", 1, 8, 8);
    const seedId = "6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    const startId = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
    const assets = new Map([[seedId, { bytes: png, contentType: "image/png" }], [startId, { bytes: png, contentType: "image/png" }]]);
    const dev = entry("fal-ai/flux/dev");
    await providers.forEntry(dev).run({ jobId: "j", kind: "image", model: dev.model, input: { prompt: "p", seed_image_url: `aeriox-asset://${seedId}` } }, fakeContext({ assets }));
    const kling = entry("fal-ai/kling-3.0");
    const signed = `${FAKE_PUBLIC_URL}/v1/assets/${startId}/content?expires=1&signature=x`;
    await providers.forEntry(kling).run({ jobId: "k", kind: "video", model: kling.model, input: { prompt: "surf", duration_s: 5, image_url: signed } }, fakeContext({ assets }));

    expect(fal.stats.uploads).toHaveLength(2);
    for (const upload of fal.stats.uploads) {
      expect(upload.contentType).toBe("image/png");
      expect(Buffer.from(upload.bytes!).equals(Buffer.from(png))).toBe(true);
    }
    expect(fal.stats.submitted[0]!.input).toMatchObject({ image_url: fal.stats.uploads[0]!.url });
    expect(fal.stats.submitted[1]!.input).toMatchObject({ start_image_url: fal.stats.uploads[1]!.url });
    // A missing asset of ours is the caller's error, before anything is submitted.
    const err = await providers.forEntry(dev).run({ jobId: "m", kind: "image", model: dev.model, input: { prompt: "p", seed_image_url: `aeriox-asset://${"1".repeat(8)}-1111-4111-8111-${"1".repeat(12)}` } }, fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "client", code: "asset_not_found" });
    expect(fal.stats.submits).toBe(2);
  });

  it("resumes an existing request without submitting again", async () => {
    const id = fal.addRequest("fal-ai/flux/schnell", { prompt: "earlier attempt" });
    const ctx = fakeContext({ existingRequestId: id });
    const result = await providers.forEntry(schnell).run(imageReq(), ctx);
    expect(fal.stats.submits).toBe(0);
    expect(ctx.recordedIds).toEqual([]);
    expect(fal.stats.resultCalls).toBe(1);
    expect(result.outputs).toHaveLength(1);
  });

  it("runs a kling video: duration as fal's string, generate_audio, MP4 bytes", async () => {
    const kling = entry("fal-ai/kling-3.0"); // the old id, an alias of fal-ai/kling-video/v3/pro/text-to-video
    const result = await providers
      .forEntry(kling)
      .run({ jobId: "j", kind: "video", model: kling.model, input: { prompt: "surf", duration_s: 5, with_audio: true, image_url: "https://example.com/i.png" } }, fakeContext());
    // With a start image the job runs Kling 3.0's image-to-video endpoint, which takes it as start_image_url.
    expect(fal.stats.submitted[0]!.endpoint).toBe("fal-ai/kling-video/v3/pro/image-to-video");
    expect(fal.stats.submitted[0]!.input).toEqual({ prompt: "surf", duration: "5", start_image_url: "https://example.com/i.png", generate_audio: true });
    expect(result.outputs[0]!.contentType).toBe("video/mp4");
    const info = await probeBytes(result.outputs[0]!.bytes, "mp4");
    expect(info.videoCodec).toBe("h264");
    expect(result.actualCostMicros).toBe(750_000n); // 5 s × $0.15 with audio
  });

  it("422 → client error keeping fal's reason, not retryable", async () => {
    fal.set({ submitError: falValidationError("prompt", "Prompt contains forbidden words") });
    const err = await providers.forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ name: "ProviderError", kind: "client", retryable: false, status: 422, providerMessage: "prompt: Prompt contains forbidden words" });
  });

  it("500 → retryable server error", async () => {
    fal.set({ submitError: { status: 500, body: { detail: "Internal Server Error" } } });
    const err = await providers.forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "server", retryable: true, status: 500 });
    fal.set({ resultError: { status: 500 } });
    const err2 = await providers.forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
    expect(err2).toMatchObject({ kind: "server", retryable: true });
  });

  it("a transient 500 on a status poll is retried by @fal-ai/client itself (~1 s backoff)", async () => {
    fal.set({ statusError: { status: 500, times: 1 } });
    const result = await providers.forEntry(schnell).run(imageReq(), fakeContext());
    expect(result.outputs).toHaveLength(1);
    expect(fal.stats.submits).toBe(1);
  });

  it("when the request id cannot be recorded, the fal request is cancelled (no orphan to pay twice)", async () => {
    const ctx = fakeContext();
    ctx.recordRequestId = async () => {
      throw new Error("database unavailable");
    };
    const err = await providers.forEntry(schnell).run(imageReq(), ctx).catch((e) => e);
    expect(err).toMatchObject({ kind: "server", retryable: true, code: "request_id_not_recorded" });
    expect(fal.stats.cancelledIds).toEqual([fal.stats.submitted[0]!.requestId]);
  });

  it("has_nsfw_concepts → nsfw true and nothing downloaded", async () => {
    fal.set({ nsfw: true });
    const result = await providers.forEntry(schnell).run(imageReq(), fakeContext());
    expect(result).toMatchObject({ nsfw: true, outputs: [] });
    expect(fal.stats.cdnDownloads).toBe(0);
  });

  it("times out a hanging provider with a retryable timeout (registry wall clock)", async () => {
    const quick = createProviders({ FAL_KEY: "k", ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry(), fal: { pollIntervalMs: 5 }, timeoutsMs: { fal: 200 } });
    fal.set({ hang: "status" });
    const ctx = fakeContext();
    const err = await quick.forEntry(schnell).run(imageReq(), ctx).catch((e) => e);
    expect(err).toMatchObject({ kind: "timeout", retryable: true });
    expect(ctx.recordedIds).toHaveLength(1); // the submit was recorded, so a retry resumes it
  });

  it("cancel hits the request's cancel URL", async () => {
    fal.set({ statuses: ["IN_QUEUE"] });
    const ac = new AbortController();
    const ctx = fakeContext({ signal: ac.signal });
    const running = providers.forEntry(schnell).run(imageReq(), ctx).catch((e) => e);
    while (ctx.recordedIds.length === 0) await new Promise((r) => setTimeout(r, 5));
    const id = ctx.recordedIds[0]!;
    await providers.forEntry(schnell).cancel(id, imageReq());
    ac.abort(new Error("job cancelled"));
    expect(await running).toMatchObject({ code: "aborted", retryable: false });
    expect(fal.stats.cancelledIds).toEqual([id]);
    expect(fal.requests.get(id)!.cancelled).toBe(true);
  });

  it("without FAL_KEY: unavailable with a clear message, no request made", async () => {
    const err = await make(undefined).forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "unavailable", retryable: false, message: expect.stringContaining("FAL_KEY") });
    expect(fal.stats.submits).toBe(0);
  });

  it("a rejected key (401) is unavailable, not the user's fault, and not retried", async () => {
    fal.set({ expectKey: "the-right-key" });
    const err = await providers.forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "unavailable", retryable: false, status: 401 });
    expect(String(err.message)).not.toContain("test-key:secret");
  });
});

describe("fal output downloads go through the guarded fetcher", () => {
  afterEach(() => server.resetHandlers());

  it("an output URL on a non-public address is refused before any request (bad output, not retried)", async () => {
    const requested: string[] = [];
    const record = ({ request }: { request: Request }) => void requested.push(request.url);
    server.events.on("request:start", record);
    server.use(mock.get(`${FAL_QUEUE_URL}/fal-ai/flux/requests/:id`, () => HttpResponse.json({ images: [{ url: "http://[::ffff:127.0.0.1]:9/secret", content_type: "image/png" }], has_nsfw_concepts: [false] })));
    try {
      const err = await providers.forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
      expect(err).toMatchObject({ kind: "server", retryable: false, code: "provider_bad_output" });
      expect(String(err.message)).toMatch(/not allowed/);
      expect(requested.filter((u) => !u.startsWith(FAL_QUEUE_URL))).toEqual([]);
    } finally {
      server.events.removeListener("request:start", record);
    }
  });

  it("an output that is not media is refused", async () => {
    server.use(mock.get(`${FAL_CDN_URL}/files/:name`, () => new HttpResponse("<html>login</html>", { headers: { "content-type": "text/html" } })));
    const err = await providers.forEntry(schnell).run(imageReq(), fakeContext()).catch((e) => e);
    expect(err).toMatchObject({ kind: "server", retryable: false, code: "provider_bad_output" });
    expect(String(err.message)).not.toContain("login");
  });
});
