/** A ProviderContext for tests: records progress and request ids, serves assets from a map. */
import { ProviderError } from "../../src/providers/errors.ts";
import type { ProviderContext } from "../../src/providers/types.ts";
import { loadCatalog } from "../../src/pricing/catalog.ts";
import { ownAssetIdOf } from "../../src/assets/own-url.ts";

export interface FakeContext extends ProviderContext {
  progress: number[];
  recordedIds: string[];
  assets: Map<string, { bytes: Uint8Array; contentType: string }>;
}

/** The deployment's public URL as the fake context's readAssetUrl recognises it. */
export const FAKE_PUBLIC_URL = "https://aeriox.test";

export function fakeContext(o: { existingRequestId?: string; signal?: AbortSignal; assets?: FakeContext["assets"] } = {}): FakeContext {
  const progress: number[] = [];
  const recordedIds: string[] = [];
  const assets = o.assets ?? new Map();
  return {
    signal: o.signal ?? new AbortController().signal,
    existingRequestId: o.existingRequestId ?? null,
    progress,
    recordedIds,
    assets,
    async recordRequestId(id) {
      recordedIds.push(id);
    },
    async reportProgress(pct) {
      progress.push(pct);
    },
    async readAsset(assetId) {
      const a = assets.get(assetId);
      if (!a) throw new ProviderError("client", `Asset ${assetId} not found in this workspace`, { code: "asset_not_found" });
      return a;
    },
    readAssetUrl(url) {
      const id = ownAssetIdOf(url, FAKE_PUBLIC_URL);
      return id ? this.readAsset(id) : null;
    },
  };
}

export const catalog = loadCatalog();

export function entry(model: string) {
  const e = catalog.byModel(model);
  if (!e) throw new Error(`no catalog entry for ${model}`);
  return e;
}
