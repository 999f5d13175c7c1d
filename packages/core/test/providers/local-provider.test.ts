import { describe, expect, it } from "vitest";
import { PNG } from "pngjs";
import { createProviders } from "../../src/providers/registry.ts";
import { BreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import type { ProviderRequest } from "../../src/providers/types.ts";
import { entry, fakeContext } from "./fake-context.ts";
import { probeBytes } from "./media-probe.ts";

const providers = createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry() });
const req = (kind: ProviderRequest["kind"], model: string, input: Record<string, unknown>): ProviderRequest => ({ jobId: "job-1", kind, model, input });
const run = (kind: ProviderRequest["kind"], model: string, input: Record<string, unknown>, ctx = fakeContext()) =>
  providers.forEntry(entry(model)).run(req(kind, model, { model, ...input }), ctx);

describe("local/image", () => {
  it("is a valid PNG, 512 px on the long side by default, progress to 100", async () => {
    const ctx = fakeContext();
    const t = performance.now();
    const result = await run("image", "local/image", { prompt: "a red fox" }, ctx);
    console.log(`local/image 512x512: ${Math.round(performance.now() - t)} ms`);
    const out = result.outputs[0]!;
    expect(out.contentType).toBe("image/png");
    const png = PNG.sync.read(Buffer.from(out.bytes));
    expect([png.width, png.height, out.width, out.height]).toEqual([512, 512, 512, 512]);
    expect(ctx.progress.at(-1)).toBe(100);
    expect(result.nsfw).toBe(false);
    expect(result.actualCostMicros).toBe(100n);
  });

  it.each([
    ["16:9", 512, 288],
    ["9:16", 288, 512],
    ["4:3", 512, 384],
    ["3:4", 384, 512],
  ])("honours aspect_ratio %s → %dx%d", async (aspect_ratio, w, h) => {
    const out = (await run("image", "local/image", { prompt: "p", aspect_ratio })).outputs[0]!;
    const png = PNG.sync.read(Buffer.from(out.bytes));
    expect([png.width, png.height]).toEqual([w, h]);
  });

  it("honours resolution and caps it at 1024 on the long side", async () => {
    const small = PNG.sync.read(Buffer.from((await run("image", "local/image", { prompt: "p", resolution: "320x200" })).outputs[0]!.bytes));
    expect([small.width, small.height]).toEqual([320, 200]);
    const big = PNG.sync.read(Buffer.from((await run("image", "local/image", { prompt: "p", resolution: "4096x2048" })).outputs[0]!.bytes));
    expect([big.width, big.height]).toEqual([1024, 512]);
  });

  it("is deterministic per prompt + seed and differs otherwise", async () => {
    const bytes = async (input: Record<string, unknown>) => Buffer.from((await run("image", "local/image", { resolution: "128x128", ...input })).outputs[0]!.bytes);
    const a = await bytes({ prompt: "castle", seed: 7 });
    expect(a.equals(await bytes({ prompt: "castle", seed: 7 }))).toBe(true);
    expect(a.equals(await bytes({ prompt: "castle", seed: 8 }))).toBe(false);
    expect(a.equals(await bytes({ prompt: "palace", seed: 7 }))).toBe(false);
  });
});

describe("local/video", () => {
  it("is an H.264 MP4 of the default 2 s, without audio unless asked", async () => {
    const ctx = fakeContext();
    const t = performance.now();
    const result = await run("video", "local/video", { prompt: "waves", resolution: "320x180" }, ctx);
    console.log(`local/video 2 s 320x180: ${Math.round(performance.now() - t)} ms`);
    const out = result.outputs[0]!;
    expect(out.contentType).toBe("video/mp4");
    expect(Buffer.from(out.bytes.subarray(4, 8)).toString("ascii")).toBe("ftyp");
    const info = await probeBytes(out.bytes, "mp4");
    expect(info.videoCodec).toBe("h264");
    expect(info.audioCodec).toBeNull();
    expect([info.width, info.height]).toEqual([320, 180]);
    expect(info.durationS).toBeCloseTo(2, 1);
    expect(out.durationS).toBe(2);
    expect(ctx.progress.at(-1)).toBe(100);
    expect(result.actualCostMicros).toBe(200n); // 2 s × 100 micros
  });

  it("makes the requested duration with an audio track when with_audio", async () => {
    const out = (await run("video", "local/video", { prompt: "waves", duration_s: 3, with_audio: true, resolution: "320x180" })).outputs[0]!;
    const info = await probeBytes(out.bytes, "mp4");
    expect(info.audioCodec).toBe("aac");
    expect(Math.abs(info.durationS! - 3)).toBeLessThan(0.1);
  });

  it("stops ffmpeg when the job is aborted", async () => {
    const ac = new AbortController();
    const p = run("video", "local/video", { prompt: "long", duration_s: 30, resolution: "1280x720" }, fakeContext({ signal: ac.signal }));
    setTimeout(() => ac.abort(new Error("job cancelled")), 50);
    await expect(p).rejects.toMatchObject({ name: "ProviderError", code: "aborted", retryable: false });
  });
});

describe("local/tts", () => {
  it("is a 16-bit PCM WAV whose length scales with the text", async () => {
    const wav = async (text: string) => Buffer.from((await run("audio", "local/tts", { text })).outputs[0]!.bytes);
    const short = await wav("Hello");
    const long = await wav("Hello there, this is a much longer sentence.");
    expect(short.toString("ascii", 0, 4)).toBe("RIFF");
    expect(short.toString("ascii", 8, 12)).toBe("WAVE");
    expect(short.readUInt16LE(20)).toBe(1); // PCM
    expect(short.readUInt16LE(34)).toBe(16); // bits per sample
    expect(short.readUInt32LE(40)).toBe(short.length - 44);
    expect(long.length - 44).toBeGreaterThan((short.length - 44) * 5);
    const info = await probeBytes(long, "wav");
    expect(info.audioCodec).toBe("pcm_s16le");
  });

  it("applies phoneme overrides before synthesis and pricing", async () => {
    const result = await run("audio", "local/tts", { text: "AERIOX", phoneme_overrides: [{ from: "AERIOX", to: "air ee ox" }] });
    expect(result.outputs[0]!.durationS).toBeCloseTo(9 * 0.06, 5);
    expect(result.actualCostMicros).toBe(1n); // ceil(9 chars × 100 / 1000)
  });
});
