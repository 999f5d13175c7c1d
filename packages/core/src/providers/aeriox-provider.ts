/**
 * The "aeriox" provider: operations the platform runs itself.
 *
 * - Character training (characters/train.ts), the job's output a JSON artifact; the character
 *   row is updated by jobs/side-effects.ts in the settlement transaction. Both trainers fetch
 *   the references through the guarded fetcher (one that cannot be used fails the job, and so
 *   refunds the hold, naming its index) and learn the style (palette + composition, in the
 *   render pool) that conditions local/image:
 *   - char.train_local (no FAL_KEY): that style is the whole training; priced as the local
 *     operation it is.
 *   - char.train_soul (FAL_KEY): the references are zipped and a FLUX LoRA is trained on fal.ai
 *     (FalProvider.trainLora; its request id is recorded, so a retry polls, never pays twice);
 *     the artifact holds the weights' URL for generations on fal-ai/flux-lora. Priced at fal's rate.
 *   Voices (ElevenLabs only): `voice_sample_urls` are fetched (audio only) and cloned
 *   (ElevenLabsProvider.cloneVoice) before any fal money is spent; the new id is recorded in the
 *   job's input (characters.ts recordTrainingVoice), which the completion copies to the character
 *   and a retry reuses. A caller's `voice_id` is checked to exist. A clone whose training then
 *   fails for good is deleted (best effort).
 * - prism.apply, input.mode "asset" → offline transform of a stored asset (prisms/transform.ts).
 * - prism.apply, input.mode "generate" → delegates the generation to the underlying model's
 *   provider (through the registry, so its breaker applies; the entry snapshotted at submit
 *   time), then applies the recipe's transform to PNG outputs. Cost = prism price + the
 *   delegate's reported cost (null when the delegate reports none → the hold is captured).
 */
import type { CatalogEntry } from "../pricing/catalog.ts";
import {
  AUDIO_CONTENT_TYPES,
  TrainingReferenceError,
  buildArtifact,
  fetchAndAnalyzeReferences,
  fetchVoiceSample,
  fingerprintsOf,
  triggerWordFor,
  type ArtifactVoice,
  type FalLora,
  type TrainingInput,
} from "../characters/train.ts";
import { storedZip } from "../characters/zip.ts";
import { FAL_LORA_TRAINER, type LoraTrainer } from "./fal-provider.ts";
import type { VoiceCloner } from "./elevenlabs-provider.ts";
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
  /** fal's LoRA trainer (char.train_soul). */
  loraTrainer?: LoraTrainer;
  /** ElevenLabs voices (voice_sample_urls / voice_id); undefined or unconfigured → such a job fails unavailable. */
  voices?: VoiceCloner & { readonly configured: boolean };
  /** Persists a cloned voice id in the training job's input (the runtime passes characters.ts recordTrainingVoice). */
  recordTrainingVoice?: (jobId: string, voiceId: string) => Promise<void>;
}

/** The offline trainer's operation (characters.ts LOCAL_TRAIN_OPERATION). */
const LOCAL_TRAINER_OPERATION = "char.train_local";

export class AerioxProvider implements ProviderAdapter {
  readonly name = "aeriox";
  constructor(private readonly options: AerioxProviderOptions) {}

  async run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    if (ctx.signal.aborted) throw abortedError(ctx.signal);
    await safeProgress(ctx, 1);
    if (entry.kind === "training") return this.train(req, ctx, entry);
    if (entry.kind === "prism") return this.prism(req, ctx, entry);
    throw new ProviderError("client", `The aeriox provider does not run ${entry.operationId}`, { code: "unsupported_operation" });
  }

  private async train(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    const t = req.input as Partial<TrainingInput>;
    const strings = (v: unknown) => Array.isArray(v) && v.length > 0 && v.every((u) => typeof u === "string");
    if (
      typeof t.character_id !== "string" ||
      typeof t.name !== "string" ||
      !strings(t.image_urls) ||
      (t.voice_id !== undefined && typeof t.voice_id !== "string") ||
      (t.voice_sample_urls !== undefined && !strings(t.voice_sample_urls))
    ) {
      throw new ProviderError("client", "Training input needs character_id, name and at least one image URL", { code: "invalid_training_input" });
    }
    const input = t as TrainingInput;
    const onFal = entry.operationId !== LOCAL_TRAINER_OPERATION;
    const policy = this.options.outbound ?? DEFAULT_OUTBOUND_POLICY;
    let clonedNow: string | null = null;
    try {
      // 1. References (all trainers): fetched, checked, analysed. Nothing is paid for before this.
      const { fetched, analyses } = await fetchAndAnalyzeReferences(input.image_urls, {
        signal: ctx.signal,
        policy,
        renderer: this.options.renderer,
        onProgress: (pct) => safeProgress(ctx, pct),
        // Uploaded (or generated) assets of the workspace are read from the asset store, not fetched.
        ...(ctx.readAssetUrl ? { readAssetUrl: (url: string) => ctx.readAssetUrl!(url) } : {}),
        from: 5,
        to: onFal ? 25 : 85,
      });
      if (onFal) {
        const unfit = fetched.find((r) => !["png", "jpeg", "webp"].includes(r.format));
        if (unfit) throw new TrainingReferenceError(unfit.index, "unsupported_content_type", "fal.ai's LoRA trainer takes PNG, JPEG or WebP references", false);
      }
      // 2. The voice, before any fal money is spent: a bad sample fails the job for free.
      const voice = await this.voiceFor(req.jobId, input, ctx, (id) => (clonedNow = id));
      // 3. fal's LoRA trainer.
      let lora: FalLora | null = null;
      if (onFal) {
        const trainer = this.options.loraTrainer;
        if (!trainer) throw new ProviderError("unavailable", "fal.ai LoRA training is not available on this server", { retryable: false, code: "provider_not_configured" });
        const { trigger_word } = triggerWordFor(input, fingerprintsOf(input.image_urls, analyses));
        const archive = storedZip(fetched.map((r) => ({ name: `reference_${String(r.index + 1).padStart(2, "0")}.${r.format === "jpeg" ? "jpg" : r.format}`, bytes: r.bytes })));
        const trained = await trainer.trainLora({ archive, triggerWord: trigger_word, from: 35, to: 95 }, ctx);
        lora = { url: trained.loraUrl, config_url: trained.configUrl, trainer_endpoint: FAL_LORA_TRAINER, inference_endpoint: "fal-ai/flux-lora" };
      }
      const { bytes } = buildArtifact(input, analyses, { trainer: onFal ? "fal" : "local", lora, voice });
      await safeProgress(ctx, 100);
      return { outputs: [{ bytes, contentType: "application/json" }], actualCostMicros: entry.priceMicros, nsfw: false };
    } catch (err) {
      const mapped = ctx.signal.aborted
        ? abortedError(ctx.signal)
        : err instanceof TrainingReferenceError
          ? new ProviderError(err.retryable ? "server" : "client", err.message, { retryable: err.retryable, code: err.code, cause: err })
          : err;
      // A voice cloned for a training that will not complete is not left behind (a retry would reuse it).
      const cloned = clonedNow ?? (input.voice_source === "cloned" ? input.voice_id : null);
      const final = !(mapped instanceof ProviderError) || !mapped.retryable;
      if (cloned && final && this.options.voices) await this.options.voices.deleteVoice(cloned).catch(() => undefined);
      throw mapped;
    }
  }

  /** The character's ElevenLabs voice: none, a supplied one (checked), or a clone (reused on a retry). */
  private async voiceFor(jobId: string, input: TrainingInput, ctx: ProviderContext, onCloned: (id: string) => void): Promise<ArtifactVoice | null> {
    if (input.voice_id && input.voice_source === "cloned") return { provider: "elevenlabs", voice_id: input.voice_id, source: "cloned" };
    // A voice_id without a source is a made-up id of jobs queued by earlier releases: no voice.
    const supplied = input.voice_id && input.voice_source === "supplied" ? input.voice_id : null;
    if (!supplied && !input.voice_sample_urls) return null;
    const voices = this.options.voices;
    if (!voices?.configured) throw new ProviderError("unavailable", "ElevenLabs voices are unavailable: ELEVENLABS_API_KEY is not set on this server", { retryable: false, code: "provider_not_configured" });
    if (supplied) {
      if (!(await voices.voiceExists(supplied, ctx.signal))) {
        throw new ProviderError("client", `ElevenLabs has no voice ${supplied} for this server's account (voice_id)`, { code: "voice_not_found" });
      }
      return { provider: "elevenlabs", voice_id: supplied, source: "supplied" };
    }
    const samples = [];
    for (const [i, url] of input.voice_sample_urls!.entries()) {
      const sample = await fetchVoiceSample(url, i, ctx.signal, this.options.outbound ?? DEFAULT_OUTBOUND_POLICY, ctx.readAssetUrl ? (u: string) => ctx.readAssetUrl!(u) : undefined);
      samples.push({ bytes: sample.bytes, filename: `sample_${i + 1}.${sample.format}`, contentType: AUDIO_CONTENT_TYPES[sample.format] });
    }
    const record = this.options.recordTrainingVoice;
    if (!record) throw new ProviderError("unavailable", "This process cannot record a cloned voice", { retryable: false, code: "provider_not_configured" });
    const voiceId = await voices.cloneVoice({ name: input.name, samples, description: `AERIOX character ${input.character_id}` }, ctx.signal);
    onCloned(voiceId);
    try {
      await record(jobId, voiceId);
    } catch (err) {
      throw new ProviderError("server", `Could not record the cloned voice: ${(err as Error).message}`, { retryable: false, code: "voice_not_recorded", cause: err });
    }
    await safeProgress(ctx, 30);
    return { provider: "elevenlabs", voice_id: voiceId, source: "cloned" };
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

  async cancel(requestId: string, req: ProviderRequest, entry: CatalogEntry): Promise<void> {
    // The only request id a training job records is its fal LoRA training.
    if (entry.kind === "training") {
      if (entry.operationId !== LOCAL_TRAINER_OPERATION && this.options.loraTrainer) await this.options.loraTrainer.cancelLoraTraining(requestId);
      return;
    }
    const input = req.input as { mode?: string; delegate?: SerializedEntry; params?: Record<string, unknown> };
    if (input.mode === "generate" && input.delegate && input.params) {
      const delegateEntry = deserializeEntry(input.delegate);
      await this.options.delegate(delegateEntry).cancel(requestId, { jobId: req.jobId, kind: delegateEntry.kind, model: delegateEntry.model, input: input.params });
    }
  }
}
