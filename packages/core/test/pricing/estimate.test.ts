import { describe, expect, it } from "vitest";
import { loadCatalogOrThrow, type CatalogEntry } from "../../src/pricing/catalog.ts";
import { priceFor } from "../../src/pricing/estimate.ts";

const catalog = loadCatalogOrThrow();
const e = (model: string) => catalog.byModel(model)!;
const withPrice = (model: string, patch: Partial<CatalogEntry>): CatalogEntry => ({ ...e(model), ...patch });

describe("priceFor", () => {
  it("image: per image", () => {
    expect(priceFor(e("fal-ai/flux/schnell"), { prompt: "x" })).toBe(3000n);
    expect(priceFor(e("fal-ai/flux-pro/v1.1"), { prompt: "x" })).toBe(40_000n);
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
  });

  it("training and prism: flat", () => {
    expect(priceFor(catalog.byOperation("char.train_soul")!, {})).toBe(2_000_000n);
    expect(priceFor(catalog.byOperation("prism.apply")!, { anything: 1 })).toBe(10_000n);
  });
});
