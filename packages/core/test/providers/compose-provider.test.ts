import fs from "node:fs/promises";
import os from "node:os";
import { beforeAll, describe, expect, it } from "vitest";
import { renderTestPatternVideo } from "../../src/media/test-pattern-video.ts";
import { renderProceduralPng } from "../../src/media/procedural-png.ts";
import { BreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import { createProviders } from "../../src/providers/registry.ts";
import { entry, fakeContext, type FakeContext } from "./fake-context.ts";
import { probeBytes } from "./media-probe.ts";

const providers = createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry(), compose: { x264Preset: "ultrafast" } });
const compose = providers.forEntry(entry("aeriox/compose"));
const run = (input: Record<string, unknown>, ctx: FakeContext) => compose.run({ jobId: "job-c", kind: "compose", model: "aeriox/compose", input }, ctx);

let assets: FakeContext["assets"];
beforeAll(async () => {
  const clip = (prompt: string, withAudio: boolean) => renderTestPatternVideo({ prompt, durationS: 2, width: 320, height: 180, withAudio, timeoutMs: 30_000 });
  assets = new Map([
    ["a", { bytes: await clip("first", true), contentType: "video/mp4" }],
    ["b", { bytes: await clip("second", false), contentType: "video/mp4" }],
    ["img", { bytes: renderProceduralPng("still", 1, 200, 200), contentType: "image/png" }],
    ["txt", { bytes: new TextEncoder().encode("hello"), contentType: "text/plain" }],
  ]);
});

const tempDirs = async () => (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith("aeriox-compose-")).length;

describe("compose", () => {
  it.each(["mp4", "webm"] as const)("stitches two local videos into one %s of the summed duration", async (output_format) => {
    const ctx = fakeContext({ assets });
    const before = await tempDirs();
    const t = performance.now();
    const result = await run(
      {
        segments: [
          { asset_id: "a", start_time: 0.5, duration: 1.5 },
          { asset_id: "b", start_time: 0, duration: 2 },
        ],
        output_resolution: "320x180",
        output_format,
      },
      ctx,
    );
    console.log(`compose 2 clips (3.5 s, 320x180) → ${output_format}: ${Math.round(performance.now() - t)} ms`);
    const out = result.outputs[0]!;
    expect(out.contentType).toBe(`video/${output_format}`);
    const info = await probeBytes(out.bytes, output_format);
    expect(info.videoCodec).toBe(output_format === "mp4" ? "h264" : "vp8");
    expect(info.audioCodec).toBe(output_format === "mp4" ? "aac" : "opus"); // clip a has audio, b gets silence
    expect([info.width, info.height]).toEqual([320, 180]);
    expect(Math.abs(info.durationS! - 3.5)).toBeLessThan(0.15);
    expect(ctx.progress.at(-1)).toBe(100);
    // Billed on the produced length: 3.5 s → 4 whole seconds × $0.02/min = ceil(1333.3) = 1334 micros.
    expect(result.actualCostMicros).toBe(1334n);
    expect(await tempDirs()).toBe(before);
  });

  it("letterboxes stills and trims a segment to what its source has left", async () => {
    const result = await run(
      {
        segments: [
          { asset_id: "img", start_time: 0, duration: 1 },
          { asset_id: "b", start_time: 1.5, duration: 5 }, // only 0.5 s left in b
        ],
        output_resolution: "320x180",
      },
      fakeContext({ assets }),
    );
    const info = await probeBytes(result.outputs[0]!.bytes, "mp4");
    expect(Math.abs(info.durationS! - 1.5)).toBeLessThan(0.15);
    expect(info.audioCodec).toBeNull();
  });

  it("names a missing asset, refuses non-video assets and starts past the end; cleans up", async () => {
    const before = await tempDirs();
    const seg = (asset_id: string, start_time = 0) => ({ segments: [{ asset_id, start_time, duration: 1 }], output_resolution: "320x180" });
    await expect(run(seg("nope"), fakeContext({ assets }))).rejects.toMatchObject({ kind: "client", message: expect.stringContaining("nope") });
    await expect(run(seg("txt"), fakeContext({ assets }))).rejects.toMatchObject({ kind: "client", code: "invalid_segment" });
    await expect(run(seg("a", 9), fakeContext({ assets }))).rejects.toMatchObject({ kind: "client", message: expect.stringContaining("past the end") });
    await expect(run({ ...seg("a"), output_resolution: "huge" }, fakeContext({ assets }))).rejects.toMatchObject({ code: "invalid_resolution" });
    expect(await tempDirs()).toBe(before);
  });

  it("kills ffmpeg when the output grows past the size limit", async () => {
    const small = createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry(), compose: { x264Preset: "ultrafast", maxOutputBytes: 1000 } });
    const p = small.forEntry(entry("aeriox/compose")).run(
      { jobId: "j", kind: "compose", model: "aeriox/compose", input: { segments: [{ asset_id: "a", start_time: 0, duration: 2 }, { asset_id: "a", start_time: 0, duration: 2 }], output_resolution: "320x180" } },
      fakeContext({ assets }),
    );
    await expect(p).rejects.toMatchObject({ code: "output_too_large" });
  });
});
