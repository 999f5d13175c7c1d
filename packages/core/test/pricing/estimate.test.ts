import { describe, expect, it } from "vitest";
import { loadCatalogOrThrow, type CatalogEntry } from "../../src/pricing/catalog.ts";
import { priceFor } from "../../src/pricing/estimate.ts";

const catalog = loadCatalogOrThrow();
const e = (model: string) => catalog.byModel(model)!;
const withPrice = (model: string, patch: Partial<CatalogEntry>): CatalogEntry => ({ ...e(model), ...patch });

describe("priceFor", () => {
  it("image: local per image; fal FLUX per megapixel of the requested size, rounded up (1 MP = 1024×1024)", () => {
    expect(priceFor(e("local/image"), { prompt: "x", resolution: "1024x1024" })).toBe(100n);
    const schnell = e("fal-ai/flux/schnell"); // $0.003 / MP
    expect(priceFor(schnell, { prompt: "x" })).toBe(3000n); // fal's default landscape_4_3, 1024×768: 1 MP
    expect(priceFor(schnell, { prompt: "x", aspect_ratio: "1:1" })).toBe(3000n); // square_hd: exactly 1 MP
    expect(priceFor(schnell, { prompt: "x", resolution: "1025x1024" })).toBe(6000n); // just over 1 MP → 2
    expect(priceFor(schnell, { prompt: "x", resolution: "2048x2048" })).toBe(12_000n); // 4 MP
    expect(priceFor(schnell, { prompt: "x", resolution: "1080p" })).toBe(6000n); // 1920×1080 = 1.98 MP → 2
    expect(priceFor(e("fal-ai/flux-pro/v1.1"), { prompt: "x", resolution: "1536x1024" })).toBe(80_000n);
    // Image-to-image: the output takes the seed's size, so the hold is the largest the model makes.
    expect(priceFor(e("fal-ai/flux/dev"), { prompt: "x", seed_image_url: "https://example.com/a.png" })).toBe(100_000n);
    expect(() => priceFor(schnell, { prompt: "x", resolution: "4096x4096" })).toThrow(expect.objectContaining({ status: 400, code: "invalid_resolution" }));
    expect(() => priceFor(schnell, { prompt: "x", resolution: "huge" })).toThrow(expect.objectContaining({ status: 400, code: "invalid_resolution" }));
  });

  it("the renamed Kling 3.0 entry answers to fal's endpoint id and to the old id", () => {
    expect(catalog.byModel("fal-ai/kling-3.0")).toBe(catalog.byModel("fal-ai/kling-video/v3/pro/text-to-video"));
    expect(catalog.byModel("fal-ai/kling-3.0")!.operationId).toBe("video.fal-ai/kling-video/v3/pro/text-to-video");
  });

  it("video: per second × duration, default duration, audio price, max duration", () => {
    const kling = e("fal-ai/kling-3.0");
    expect(priceFor(kling, { prompt: "x", duration_s: 10 })).toBe(1_000_000n);
    expect(priceFor(kling, { prompt: "x" })).toBe(500_000n); // default 5 s
    expect(priceFor(kling, { prompt: "x", duration: 3 })).toBe(300_000n); // /v1/estimate spelling
    expect(priceFor(kling, { prompt: "x", duration_s: 4, with_audio: true })).toBe(600_000n);
    expect(priceFor(e("local/video"), { prompt: "x" })).toBe(200n); // local default 2 s
    expect(() => priceFor(kling, { prompt: "x", duration_s: 16 })).toThrow(expect.objectContaining({ status: 400, code: "duration_too_long" }));
    expect(() => priceFor(kling, { prompt: "x", duration_s: 16 })).toThrow(/at most 15 s; asked for 16 s/);
    expect(() => priceFor(e("fal-ai/kling-video/v2.1/master/text-to-video"), { prompt: "x", with_audio: true })).toThrow(
      expect.objectContaining({ code: "audio_not_supported" }),
    );
  });

  it("audio: pro rata per character, rounded up to the micro, counted after phoneme overrides", () => {
    const v2 = e("eleven_multilingual_v2"); // $0.10 / 1k chars = 100 micros per char
    expect(priceFor(v2, { text: "a".repeat(1000) })).toBe(100_000n);
    expect(priceFor(v2, { text: "abc" })).toBe(300n);
    const v3 = e("eleven_v3_multilingual"); // 120 micros per char
    expect(priceFor(v3, { text: "hi" })).toBe(240n);
    expect(priceFor(e("local/tts"), { text: "abc" })).toBe(1n); // 0.3 micro → 1
    expect(priceFor(v2, { text: "😀😀" })).toBe(200n); // code points, not UTF-16 units
    expect(priceFor(v2, { text: "AX", phoneme_overrides: [{ from: "AX", to: "ay ex" }] })).toBe(500n);
  });

  it("compose: per output minute, summed durations rounded up to the second, with a minimum", () => {
    const c = e("aeriox/compose"); // $0.02 / min, min $0.001
    const seg = (...durations: number[]) => ({ segments: durations.map((duration, i) => ({ asset_id: `a${i}`, start_time: 0, duration })) });
    expect(priceFor(c, seg(30, 30))).toBe(20_000n); // exactly one minute
    expect(priceFor(c, seg(0.1, 0.2))).toBe(1000n); // 1 s = 334 micros → minimum 1000
    expect(priceFor(c, seg(45.5, 45))).toBe(30_334n); // 90.5 s → 91 s → ceil(91 × 20000 / 60)
    expect(priceFor(withPrice("aeriox/compose", { minPriceMicros: 0n }), seg(1))).toBe(334n);
    expect(() => priceFor(c, seg(1000, 1000))).toThrow(expect.objectContaining({ code: "duration_too_long" }));
    // A crossfade overlaps two segments: the output, and the price, are shorter by it.
    const faded = { segments: [{ asset_id: "a", start_time: 0, duration: 40, effects: { crossfade: 10 } }, { asset_id: "b", start_time: 0, duration: 30 }] };
    expect(priceFor(c, faded)).toBe(20_000n); // 40 + 30 − 10 = 60 s
  });

  it("training and prism: flat", () => {
    expect(priceFor(catalog.byOperation("char.train_soul")!, {})).toBe(2_000_000n);
    expect(priceFor(catalog.byOperation("prism.apply")!, { anything: 1 })).toBe(10_000n);
  });
});
