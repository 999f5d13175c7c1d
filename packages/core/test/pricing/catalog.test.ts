import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { BUNDLED_CATALOG_FILE, loadCatalog, loadCatalogOrThrow, pricingResponse } from "../../src/pricing/catalog.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aeriox-pricing-test-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const writeOverride = (name: string, content: unknown) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
};

describe("bundled catalog", () => {
  const catalog = loadCatalog();

  it("loads from the package data file (not the cwd) and validates", () => {
    expect(BUNDLED_CATALOG_FILE).toMatch(/packages\/core\/data\/catalog\.v1\.json$/);
    expect(catalog.error).toBeNull();
    expect(catalog.list().length).toBeGreaterThanOrEqual(14);
  });

  it("finds entries by model and by operation id, with bigint prices", () => {
    const schnell = catalog.byModel("fal-ai/flux/schnell")!;
    expect(schnell).toMatchObject({ operationId: "image.fal-ai/flux/schnell", provider: "fal", kind: "image", unit: "megapixel", priceMicros: 3000n });
    expect(catalog.byOperation("compose.stitch_per_minute")).toMatchObject({ provider: "compose", unit: "output_minute" });
    expect(catalog.byOperation("char.train_soul")).toMatchObject({ kind: "training", priceMicros: 2_000_000n });
    expect(catalog.byModel("eleven_v3_multilingual")).toMatchObject({ providerModel: "eleven_v3", unit: "1k_characters" });
    for (const m of ["local/image", "local/video", "local/tts"]) expect(catalog.byModel(m)!.priceMicros).toBeGreaterThan(0n);
    expect(catalog.byModel("nope")).toBeUndefined();
  });

  it("requireModel answers 400 unknown_model, also for a model of another kind", () => {
    expect(() => catalog.requireModel("nope")).toThrow(expect.objectContaining({ status: 400, code: "unknown_model" }));
    expect(() => catalog.requireModel("local/video", "image")).toThrow(/is a video model, not image/);
    expect(catalog.requireModel("local/video", "video").model).toBe("local/video");
  });

  it("renders the getPricing body with derived price_usd", () => {
    const body = pricingResponse(catalog, { unavailableReason: () => null }, new Date("2026-01-01T00:00:00Z"));
    expect(body).toMatchObject({ currency: "USD", micros_per_unit: 1_000_000, generated_at: "2026-01-01T00:00:00.000Z" });
    expect(body.operations.find((o) => o.operation_id === "image.fal-ai/flux/dev")).toMatchObject({ price_usd_micros: 25000, price_usd: 0.025 });
  });
});

describe("PRICING_FILE override", () => {
  it("patch mode changes fields of existing entries, adds complete new ones, removes", () => {
    const file = writeOverride("patch.json", {
      version: 1,
      operations: [
        { operation_id: "image.fal-ai/flux/dev", price_usd_micros: 30000 },
        { operation_id: "prism.apply", remove: true },
        { operation_id: "image.fal-ai/recraft/v3", model: "fal-ai/recraft/v3", provider: "fal", kind: "image", unit: "image", price_usd_micros: 40000 },
      ],
    });
    const c = loadCatalogOrThrow({ file });
    expect(c.byModel("fal-ai/flux/dev")!.priceMicros).toBe(30000n);
    expect(c.byModel("fal-ai/flux/dev")!.maxResolution).toBe("2048x2048"); // untouched fields kept
    expect(c.byOperation("prism.apply")).toBeUndefined();
    expect(c.byModel("fal-ai/recraft/v3")).toMatchObject({ priceMicros: 40000n, maxDurationS: null, supportsAudio: false });
  });

  it("durations_s: Kling 2.1 makes 5 or 10 s; a patch may lift the rule with an empty list", () => {
    expect(loadCatalogOrThrow().byModel("fal-ai/kling-video/v2.1/master/text-to-video")!.durationsS).toEqual([5, 10]);
    expect(loadCatalogOrThrow().byModel("local/echo")!.fixedOutput).toBe(true);
    const file = writeOverride("durations.json", { version: 1, operations: [{ operation_id: "video.fal-ai/kling-video/v2.1/master/text-to-video", durations_s: [] }] });
    expect(loadCatalogOrThrow({ file }).byModel("fal-ai/kling-video/v2.1/master/text-to-video")!.durationsS).toEqual([]);
  });

  it("replace mode uses only the file", () => {
    const file = writeOverride("replace.json", {
      version: 1,
      mode: "replace",
      currency: "USD",
      operations: [{ operation_id: "image.local/image", model: "local/image", provider: "local", kind: "image", unit: "image", price_usd_micros: 5 }],
    });
    const c = loadCatalogOrThrow({ file });
    expect(c.list().map((e) => e.model)).toEqual(["local/image"]);
  });

  it.each([
    ["a price that is not an integer", { version: 1, operations: [{ operation_id: "image.fal-ai/flux/dev", price_usd_micros: 0.5 }] }, /operations\.\d+\.price_usd_micros/],
    ["a misspelt field", { version: 1, operations: [{ operation_id: "image.fal-ai/flux/dev", price_usd_micro: 1 }] }, /price_usd_micro/],
    ["an incomplete new entry", { version: 1, operations: [{ operation_id: "image.x/y", price_usd_micros: 1 }] }, /model/],
    ["a unit that does not fit the kind", { version: 1, operations: [{ operation_id: "video.local/video", unit: "image" }] }, /kind video must use unit second/],
    ["a wrong version", { version: 2, operations: [] }, /version/],
    ["removing an unknown operation", { version: 1, operations: [{ operation_id: "image.nope", remove: true }] }, /cannot remove unknown operation image\.nope/],
    ["invalid JSON", "{ not json", /not valid JSON/],
    ["durations_s on an image model", { version: 1, operations: [{ operation_id: "image.local/image", durations_s: [5] }] }, /durations_s is for video models/],
    ["durations_s beyond max_duration_s", { version: 1, operations: [{ operation_id: "video.fal-ai/kling-video/v2.1/master/text-to-video", durations_s: [5, 20] }] }, /durations_s must not exceed max_duration_s/],
    ["durations_s without the default duration", { version: 1, operations: [{ operation_id: "video.fal-ai/kling-video/v2.1/master/text-to-video", durations_s: [10] }] }, /durations_s must include the default duration \(5 s\)/],
    ["fixed_output on a video model", { version: 1, operations: [{ operation_id: "video.local/video", fixed_output: true }] }, /fixed_output is for image models/],
  ])("rejects %s with a clear 503 pricing_unavailable at use", (_name, content, reason) => {
    const file = writeOverride(`bad-${Math.random().toString(36).slice(2)}.json`, content);
    const c = loadCatalog({ file });
    expect(c.error).not.toBeNull();
    expect(c.error!.message).toContain(file);
    expect(c.error!.message).toMatch(reason);
    expect(() => c.byModel("local/image")).toThrow(expect.objectContaining({ status: 503, code: "pricing_unavailable" }));
    expect(() => c.list()).toThrow(reason);
  });

  it("names a missing file", () => {
    const c = loadCatalog({ file: path.join(dir, "missing.json") });
    expect(c.error!.message).toMatch(/missing\.json cannot be read: ENOENT/);
  });
});
