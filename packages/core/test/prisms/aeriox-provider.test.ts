/** The "aeriox" adapter through the registry: training, prism on an asset, prism delegating to local/image. */
import { describe, expect, it } from "vitest";
import { createProviders } from "../../src/providers/registry.ts";
import { BreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import { loadCatalog } from "../../src/pricing/catalog.ts";
import { serializeEntry } from "../../src/prisms/entry.ts";
import { solidPng } from "../../src/prisms/transform.ts";
import { meanRgb } from "../../src/characters/train.ts";
import type { ProviderContext } from "../../src/providers/types.ts";

const catalog = loadCatalog();
const providers = createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry() });
const ctx = (assets: Record<string, { bytes: Uint8Array; contentType: string }> = {}): ProviderContext => ({
  signal: new AbortController().signal,
  existingRequestId: null,
  recordRequestId: async () => undefined,
  reportProgress: async () => undefined,
  readAsset: async (id) => {
    const a = assets[id];
    if (!a) throw new Error(`no asset ${id}`);
    return a;
  },
});

describe("aeriox provider", () => {
  it("trains: a JSON artifact at the training price; bad input is a client error", async () => {
    const entry = catalog.byOperation("char.train_local")!;
    const input = { character_id: "c", name: "n", voice_id: "voice_1", image_urls: [`data:image/png;base64,${solidPng(1, 2, 3).toString("base64")}`] };
    const t0 = Date.now();
    const result = await providers.forEntry(entry).run({ jobId: "j", kind: "training", model: entry.model, input }, ctx());
    console.log(`aeriox training run: ${Date.now() - t0} ms`);
    expect(result.actualCostMicros).toBe(entry.priceMicros);
    expect(result.outputs[0]!.contentType).toBe("application/json");
    expect(JSON.parse(new TextDecoder().decode(result.outputs[0]!.bytes))).toMatchObject({ format: "aeriox-lora/v1", mean_rgb: [1, 2, 3] });
    await expect(providers.forEntry(entry).run({ jobId: "j", kind: "training", model: entry.model, input: {} }, ctx())).rejects.toMatchObject({ kind: "client", code: "invalid_training_input" });
  });

  it("prism on an asset and prism delegating to local/image (cost = prism + delegate)", async () => {
    const entry = catalog.byOperation("prism.apply")!;
    const run = providers.forEntry(entry);
    const onAsset = await run.run({ jobId: "j", kind: "prism", model: entry.model, input: { mode: "asset", prism_id: "cinematic-noir", asset_id: "a" } }, ctx({ a: { bytes: solidPng(250, 10, 10), contentType: "image/png" } }));
    const [r, g, b] = meanRgb(Buffer.from(onAsset.outputs[0]!.bytes))!;
    expect(r).toBe(g);
    expect(g).toBe(b);
    expect(onAsset.actualCostMicros).toBe(entry.priceMicros);

    const local = catalog.byModel("local/image")!;
    const delegated = await run.run(
      { jobId: "j", kind: "prism", model: "local/image", input: { mode: "generate", prism_id: "cinematic-noir", params: { model: "local/image", prompt: "x" }, delegate: serializeEntry(local) } },
      ctx(),
    );
    expect(delegated.outputs[0]!.contentType).toBe("image/png");
    expect(delegated.actualCostMicros).toBe(entry.priceMicros + local.priceMicros);
    await expect(run.run({ jobId: "j", kind: "prism", model: entry.model, input: { mode: "asset", prism_id: "nope" } }, ctx())).rejects.toMatchObject({ code: "prism_not_found" });
  });
});
