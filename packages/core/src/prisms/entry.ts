/** Catalog entries snapshotted into job input (JSON has no bigint). */
import type { CatalogEntry } from "../pricing/catalog.ts";

export type SerializedEntry = Omit<CatalogEntry, "priceMicros" | "priceWithAudioMicros" | "minPriceMicros"> & {
  priceMicros: string;
  priceWithAudioMicros: string | null;
  minPriceMicros: string;
};

export function serializeEntry(e: CatalogEntry): SerializedEntry {
  return { ...e, priceMicros: e.priceMicros.toString(), priceWithAudioMicros: e.priceWithAudioMicros?.toString() ?? null, minPriceMicros: e.minPriceMicros.toString() };
}

export function deserializeEntry(e: SerializedEntry): CatalogEntry {
  return { ...e, priceMicros: BigInt(e.priceMicros), priceWithAudioMicros: e.priceWithAudioMicros === null ? null : BigInt(e.priceWithAudioMicros), minPriceMicros: BigInt(e.minPriceMicros) };
}
