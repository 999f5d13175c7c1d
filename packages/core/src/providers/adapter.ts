/**
 * What an adapter implements: GenerationProvider plus the catalog entry it runs for
 * (provider model id, price for the actual cost). registry.ts binds the entry and
 * wraps the call with a timeout and the provider's circuit breaker.
 */
import type { CatalogEntry } from "../pricing/catalog.ts";
import type { ProviderContext, ProviderRequest, ProviderResult } from "./types.ts";

export interface ProviderAdapter {
  readonly name: string;
  /** Why this deployment cannot run the provider (e.g. its key is not set), or null when it can. */
  unavailableReason?(): string | null;
  run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult>;
  cancel(requestId: string, req: ProviderRequest, entry: CatalogEntry): Promise<void>;
}

/** Progress reporting must never fail a generation (e.g. a DB hiccup while saving pct). */
export async function safeProgress(ctx: ProviderContext, pct: number): Promise<void> {
  try {
    await ctx.reportProgress(Math.max(0, Math.min(100, Math.round(pct))));
  } catch {
    /* progress is best effort */
  }
}
