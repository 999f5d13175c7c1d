/**
 * ElevenLabs text-to-speech via @elevenlabs/elevenlabs-js (synchronous: one POST returns
 * the MP3). phoneme_overrides are applied as text replacements (see phonemes.ts).
 * The SDK's own retries are off (maxRetries 0): the job engine and the circuit breaker
 * own retrying, so one job attempt is one billable call.
 * Actual cost = characters sent × the catalog's per-1k-character price.
 *
 * Voices for characters (the training job, aeriox-provider.ts): `cloneVoice` is an instant
 * voice clone (`voices.ivc.create` → POST /v1/voices/add, multipart `name` + `files`), which
 * answers the new voice's id; `voiceExists` checks a caller-supplied id (GET /v1/voices/{id});
 * `deleteVoice` removes a clone whose training failed for good.
 */
import type { ElevenLabsClient } from "@elevenlabs/elevenlabs-js";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { audioPrice, audioText } from "../pricing/estimate.ts";
import { safeProgress, type ProviderAdapter } from "./adapter.ts";
import { ProviderError, abortedError, errorFromStatus } from "./errors.ts";
import type { ProviderContext, ProviderRequest, ProviderResult } from "./types.ts";
import { lazyModule } from "../lazy-module.ts";

/** Used when the request names no voice and no character voice was resolved ("George", a stock voice). */
export const DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb";

export interface ElevenLabsProviderOptions {
  apiKey: string | undefined;
  timeoutS?: number;
  /** For tests or regional residency (https://api.eu.residency.elevenlabs.io). */
  baseUrl?: string;
}

type ElevenLabsSdk = typeof import("@elevenlabs/elevenlabs-js");
/** The SDK takes seconds and ~100 MB to import: a server that never calls ElevenLabs never pays for it. */
const loadSdk = lazyModule<ElevenLabsSdk>(() => import("@elevenlabs/elevenlabs-js"));

/** What character training needs from a voice provider. */
export interface VoiceCloner {
  cloneVoice(o: { name: string; samples: Array<{ bytes: Uint8Array; filename: string; contentType: string }>; description?: string }, signal: AbortSignal): Promise<string>;
  voiceExists(voiceId: string, signal: AbortSignal): Promise<boolean>;
  deleteVoice(voiceId: string): Promise<void>;
}

export class ElevenLabsProvider implements ProviderAdapter, VoiceCloner {
  readonly name = "elevenlabs";
  private client: ElevenLabsClient | undefined;

  constructor(private readonly options: ElevenLabsProviderOptions) {}

  /** Whether this server has an ElevenLabs key (character voices need one). */
  get configured(): boolean {
    return Boolean(this.options.apiKey);
  }

  unavailableReason(): string | null {
    return this.options.apiKey ? null : "ELEVENLABS_API_KEY is not set on this server";
  }

  private api(sdk: ElevenLabsSdk): ElevenLabsClient {
    if (!this.options.apiKey) {
      throw new ProviderError("unavailable", "ElevenLabs models are unavailable: ELEVENLABS_API_KEY is not set on this server", {
        retryable: false,
        code: "provider_not_configured",
      });
    }
    this.client ??= new sdk.ElevenLabsClient({
      apiKey: this.options.apiKey,
      maxRetries: 0,
      timeoutInSeconds: this.options.timeoutS ?? 120,
      ...(this.options.baseUrl ? { baseUrl: this.options.baseUrl } : {}),
    });
    return this.client;
  }

  async run(req: ProviderRequest, ctx: ProviderContext, entry: CatalogEntry): Promise<ProviderResult> {
    const sdk = await loadSdk();
    const api = this.api(sdk);
    const text = audioText(req.input);
    if (!text.trim()) throw new ProviderError("client", "text is empty after phoneme overrides", { code: "invalid_text" });
    const voiceId = typeof req.input.voice_id === "string" && req.input.voice_id ? req.input.voice_id : DEFAULT_VOICE_ID;
    await safeProgress(ctx, 5);
    try {
      const stream = await api.textToSpeech.convert(
        voiceId,
        { text, modelId: entry.providerModel, outputFormat: "mp3_44100_128" },
        { abortSignal: ctx.signal },
      );
      const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
      if (bytes.length === 0) throw new ProviderError("server", "ElevenLabs returned empty audio", { code: "provider_empty_output" });
      await safeProgress(ctx, 100);
      return { outputs: [{ bytes, contentType: "audio/mpeg" }], actualCostMicros: audioPrice(entry, text), nsfw: false };
    } catch (err) {
      throw mapElevenLabsError(err, ctx.signal, sdk);
    }
  }

  async cloneVoice(o: Parameters<VoiceCloner["cloneVoice"]>[0], signal: AbortSignal): Promise<string> {
    const sdk = await loadSdk();
    const api = this.api(sdk);
    try {
      const created = await api.voices.ivc.create(
        {
          name: o.name,
          files: o.samples.map((f) => ({ data: Buffer.from(f.bytes.buffer, f.bytes.byteOffset, f.bytes.byteLength), filename: f.filename, contentType: f.contentType })),
          ...(o.description ? { description: o.description } : {}),
        },
        { abortSignal: signal },
      );
      if (!created.voiceId) throw new ProviderError("server", "ElevenLabs created a voice without an id", { code: "provider_bad_output" });
      return created.voiceId;
    } catch (err) {
      throw mapElevenLabsError(err, signal, sdk);
    }
  }

  async voiceExists(voiceId: string, signal: AbortSignal): Promise<boolean> {
    const sdk = await loadSdk();
    const api = this.api(sdk);
    try {
      await api.voices.get(voiceId, {}, { abortSignal: signal });
      return true;
    } catch (err) {
      // 404 (and the 400 ElevenLabs answers for a malformed id): no such voice.
      if (err instanceof sdk.ElevenLabsError && (err.statusCode === 404 || err.statusCode === 400)) return false;
      throw mapElevenLabsError(err, signal, sdk);
    }
  }

  async deleteVoice(voiceId: string): Promise<void> {
    const sdk = await loadSdk();
    try {
      await this.api(sdk).voices.delete(voiceId);
    } catch (err) {
      throw mapElevenLabsError(err, undefined, sdk);
    }
  }

  async cancel(): Promise<void> {
    // Synchronous API: nothing is queued at ElevenLabs; aborting ctx.signal ends the request.
  }
}

export function mapElevenLabsError(err: unknown, signal: AbortSignal | undefined, { ElevenLabsError, ElevenLabsTimeoutError }: ElevenLabsSdk): ProviderError {
  if (err instanceof ProviderError) return err;
  if (signal?.aborted) return abortedError(signal);
  if (err instanceof ElevenLabsTimeoutError) return new ProviderError("timeout", `ElevenLabs timed out: ${err.message}`, { cause: err });
  if (err instanceof ElevenLabsError && typeof err.statusCode === "number") {
    return errorFromStatus("ElevenLabs", err.statusCode, detailMessage(err.body) ?? err.message, err);
  }
  const e = err as Error;
  return new ProviderError("server", `ElevenLabs call failed: ${e?.message ?? String(err)}`, { cause: err, code: "provider_network_error" });
}

/** ElevenLabs errors: {detail: {status, message}} or FastAPI's {detail: [{loc, msg}]} or {detail: "…"}. */
function detailMessage(body: unknown): string | undefined {
  const detail = (body as { detail?: unknown } | undefined)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail.map((d: { loc?: unknown[]; msg?: string }) => `${(d.loc ?? []).filter((p) => p !== "body").join(".") || "input"}: ${d.msg ?? "invalid"}`).join("; ");
  }
  if (detail && typeof detail === "object") {
    const d = detail as { message?: unknown; status?: unknown };
    if (typeof d.message === "string") return typeof d.status === "string" ? `${d.status}: ${d.message}` : d.message;
  }
  return undefined;
}
