/**
 * ElevenLabs text-to-speech via @elevenlabs/elevenlabs-js (synchronous: one POST returns
 * the MP3). phoneme_overrides are applied as text replacements (see phonemes.ts).
 * The SDK's own retries are off (maxRetries 0): the job engine and the circuit breaker
 * own retrying, so one job attempt is one billable call.
 * Actual cost = characters sent × the catalog's per-1k-character price.
 */
import type { ElevenLabsClient } from "@elevenlabs/elevenlabs-js";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { audioPrice, audioText } from "../pricing/estimate.ts";
import { safeProgress, type ProviderAdapter } from "./adapter.ts";
import { ProviderError, abortedError, errorFromStatus } from "./errors.ts";
import type { ProviderContext, ProviderRequest, ProviderResult } from "./types.ts";

/** Used when the request names no voice and no character voice was resolved ("George", a stock voice). */
export const DEFAULT_VOICE_ID = "JBFqnCBsd6RMkjVDRZzb";

export interface ElevenLabsProviderOptions {
  apiKey: string | undefined;
  timeoutS?: number;
  /** For tests or regional residency (https://api.eu.residency.elevenlabs.io). */
  baseUrl?: string;
}

type ElevenLabsSdk = typeof import("@elevenlabs/elevenlabs-js");
let sdkModule: Promise<ElevenLabsSdk> | undefined;
/** The SDK takes most of a second to import: a server that never calls ElevenLabs never pays for it. */
const loadSdk = (): Promise<ElevenLabsSdk> => (sdkModule ??= import("@elevenlabs/elevenlabs-js"));

export class ElevenLabsProvider implements ProviderAdapter {
  readonly name = "elevenlabs";
  private client: ElevenLabsClient | undefined;

  constructor(private readonly options: ElevenLabsProviderOptions) {}

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
