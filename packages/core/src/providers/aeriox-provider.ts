/**
 * The "aeriox" provider: operations the platform runs itself.
 *
 * - char.train_soul → offline, deterministic character training (characters/train.ts): a JSON
 *   LoRA-like artifact stored as the job's output; the character row is updated by
 *   jobs/side-effects.ts in the settlement transaction. fal's LoRA trainer is NOT used
 *   (even with FAL_KEY): training stays offline. References are fetched through the guarded
 *   fetcher; one that cannot be used fails the job (and so refunds the hold) naming its index.
 * - prism.apply, input.mode "asset" → offline transform of a stored asset (prisms/transform.ts).
 * - prism.apply, input.mode "generate" → delegates the generation to the underlying model's
 *   provider (through the registry, so its breaker applies; the entry snapshotted at submit
 *   time), then applies the recipe's transform to PNG outputs. Cost = prism price + the
 *   delegate's reported cost (null when the delegate reports none → the hold is captured).
 */
import type { CatalogEntry } from "../pricing/catalog.ts";
import { TrainingReferenceError, trainCharacter, type TrainingInput } from "../characters/train.ts";
import { DEFAULT_OUTBOUND_POLICY, type OutboundPolicy } from "../net/index.ts";
import { findPrism } from "../prisms/catalog.ts";
import { renderTransformedPng, transformAsset } from "../prisms/transform.ts";
import type { Renderer } from "../media/render-pool.ts";
import { deserializeEntry, type SerializedEntry } from "../prisms/entry.ts";
import { safeProgress, type ProviderAdapter } from "./adapter.ts";
import { ProviderError, abortedError } from "./errors.ts";
import type { GenerationProvider, ProviderContext, ProviderRequest, ProviderResult } from "./types.ts";

export interface AerioxProviderOptions {
  /** The registry's (wrapped) provider for a delegate entry. */
  delegate(entry: CatalogEntry): GenerationProvider;
  /** Runs the prism pixel transforms (the runtime's render pool). */
  renderer: Renderer;
  /** Where training may fetch reference images from (config's FETCH_* settings); default: public addresses only. */
  outbound?: OutboundPolicy;
}

export class AerioxProvider implements ProviderAdapter {
  readonly name = "aeriox";
  constructor(private readonly options: AerioxProviderOptions) {}

  async run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    if (ctx.signal.aborted) throw abortedError(ctx.signal);
    await safeProgress(ctx, 1);
    if (entry.kind === "training") {
      const t = req.input as Partial<TrainingInput>;
      if (typeof t.character_id !== "string" || typeof t.name !== "string" || !Array.isArray(t.image_urls) || t.image_urls.length === 0 || typeof t.voice_id !== "string") {
        throw new ProviderError("client", "Training input needs character_id, name, voice_id and at least one image URL", { code: "invalid_training_input" });
      }
      const { bytes } = await trainCharacter(t as TrainingInput, ctx.signal, (pct) => safeProgress(ctx, pct), this.options.outbound ?? DEFAULT_OUTBOUND_POLICY).catch((err: unknown) => {
        if (ctx.signal.aborted) throw abortedError(ctx.signal);
        if (err instanceof TrainingReferenceError) {
          throw new ProviderError(err.retryable ? "server" : "client", err.message, { retryable: err.retryable, code: err.code, cause: err });
        }
        throw err;
      });
      await safeProgress(ctx, 100);
      return { outputs: [{ bytes, contentType: "application/json" }], actualCostMicros: entry.priceMicros, nsfw: false };
    }
    if (entry.kind === "prism") return this.prism(req, ctx, entry);
    throw new ProviderError("client", `The aeriox provider does not run ${entry.operationId}`, { code: "unsupported_operation" });
  }

  private async prism(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    const input = req.input as { mode?: string; prism_id?: string; asset_id?: string; params?: Record<string, unknown>; delegate?: SerializedEntry };
    const prism = input.prism_id ? findPrism(input.prism_id) : undefined;
    if (!prism) throw new ProviderError("client", `Prism ${String(input.prism_id)} is no longer in the catalog`, { code: "prism_not_found" });
    if (input.mode === "asset") {
      const asset = await ctx.readAsset(String(input.asset_id));
      await safeProgress(ctx, 20);
      const output = await transformAsset(prism, asset, ctx.signal, this.options.renderer);
      await safeProgress(ctx, 100);
      return { outputs: [output], actualCostMicros: entry.priceMicros, nsfw: false };
    }
    if (input.mode === "generate" && input.delegate && input.params) {
      const delegateEntry = deserializeEntry(input.delegate);
      const delegateReq: ProviderRequest = { jobId: req.jobId, kind: delegateEntry.kind, model: delegateEntry.model, input: input.params };
      const result = await this.options.delegate(delegateEntry).run(delegateReq, {
        ...ctx,
        reportProgress: (pct) => ctx.reportProgress(Math.min(95, pct * 0.95)),
      });
      if (result.nsfw) return result;
      const ops = prism.recipe.transform ?? [];
      const outputs = [];
      for (const o of result.outputs) {
        if (!ops.length || o.contentType !== "image/png") {
          outputs.push(o);
          continue;
        }
        const t = await renderTransformedPng(this.options.renderer, o.bytes, ops, ctx.signal);
        outputs.push({ ...o, bytes: t.bytes, width: t.width, height: t.height });
      }
      await safeProgress(ctx, 100);
      return { outputs, actualCostMicros: result.actualCostMicros === null ? null : result.actualCostMicros + entry.priceMicros, nsfw: false };
    }
    throw new ProviderError("client", "Malformed prism job input", { code: "invalid_prism_input" });
  }

  async cancel(requestId: string, req: ProviderRequest): Promise<void> {
    const input = req.input as { mode?: string; delegate?: SerializedEntry; params?: Record<string, unknown> };
    if (input.mode === "generate" && input.delegate && input.params) {
      const delegateEntry = deserializeEntry(input.delegate);
      await this.options.delegate(delegateEntry).cancel(requestId, { jobId: req.jobId, kind: delegateEntry.kind, model: delegateEntry.model, input: input.params });
    }
  }
}
