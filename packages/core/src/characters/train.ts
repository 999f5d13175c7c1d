/**
 * Character training, the parts every trainer shares: fetching and checking the references
 * (and voice samples), learning the local style, and the artifact.
 *
 * Every reference is fetched through the guarded fetcher (docs/ARCHITECTURE.md, Access →
 * Outbound fetches); `data:` URIs are decoded there too. A reference that is refused,
 * unreachable, too large or not an image fails the training (the job engine then refunds the
 * whole hold): a character is never trained from references we could not read. Voice samples
 * are fetched the same way and must be audio.
 *
 * The style (what the `local` trainer learns, and what every trained character brings to
 * local/image): the dominant colours of the references and where their subject sits, computed
 * in the render pool (decoding is CPU-bound), see media/reference-analysis.ts.
 *
 * The artifact is readable by the caller, so it carries nothing that could confirm fetched
 * bytes exactly (no hash, size or content type): per reference its average colour, and for the
 * character a quantised palette and a rounded composition centre, which many images share.
 */
import { createHash } from "node:crypto";
import { DEFAULT_OUTBOUND_POLICY, guardedFetch, isOutboundFetchError, type OutboundFetchErrorCode, type OutboundPolicy } from "../net/index.ts";
import { inlineRenderer, type Renderer } from "../media/render-pool.ts";
import { isProviderError } from "../providers/errors.ts";
import { analyzeReferencePng, type ReferenceAnalysis } from "../media/reference-analysis.ts";

export const ARTIFACT_FORMAT = "aeriox-lora/v1";
export type TrainerName = "local" | "fal";

export interface ReferenceFingerprint {
  url: string;
  mean_rgb: [number, number, number] | null;
}

/** A reference or voice sample that could not be used; `index` is its position in its list. */
export class TrainingReferenceError extends Error {
  readonly index: number;
  readonly code: OutboundFetchErrorCode;
  /** Worth another attempt (timeout, network error, upstream 5xx); refusals and bad content are not. */
  readonly retryable: boolean;
  /** `image_urls` or `voice_sample_urls`. */
  readonly list: "image_urls" | "voice_sample_urls";

  constructor(index: number, code: OutboundFetchErrorCode, reason: string, retryable: boolean, list: "image_urls" | "voice_sample_urls" = "image_urls") {
    super(`${list === "image_urls" ? "Reference image" : "Voice sample"} ${index + 1} (${list}[${index}]) could not be used: ${reason}`);
    this.name = "TrainingReferenceError";
    this.index = index;
    this.code = code;
    this.retryable = retryable;
    this.list = list;
  }
}

export type ImageFormat = "png" | "jpeg" | "gif" | "webp" | "bmp" | "heif";

/** The format by magic number (the Content-Type alone proves nothing). */
export function imageFormatOf(b: Buffer): ImageFormat | null {
  const hex = (from: number, to: number) => b.subarray(from, to).toString("hex");
  const ascii = (from: number, to: number) => b.subarray(from, to).toString("latin1");
  if (hex(0, 8) === "89504e470d0a1a0a") return "png";
  if (hex(0, 3) === "ffd8ff") return "jpeg";
  if (ascii(0, 6) === "GIF87a" || ascii(0, 6) === "GIF89a") return "gif";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "webp";
  if (ascii(0, 2) === "BM") return "bmp";
  if (ascii(4, 8) === "ftyp" && ["avif", "avis", "heic", "heix", "mif1"].includes(ascii(8, 12))) return "heif";
  return null;
}

export type AudioFormat = "wav" | "mp3" | "ogg" | "flac" | "m4a" | "webm";

/** Audio containers ElevenLabs' voice cloning takes, by magic number. */
export function audioFormatOf(b: Buffer): AudioFormat | null {
  const ascii = (from: number, to: number) => b.subarray(from, to).toString("latin1");
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "wav";
  if (ascii(0, 3) === "ID3" || (b.length > 1 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0)) return "mp3";
  if (ascii(0, 4) === "OggS") return "ogg";
  if (ascii(0, 4) === "fLaC") return "flac";
  if (ascii(4, 8) === "ftyp") return "m4a";
  if (b.subarray(0, 4).toString("hex") === "1a45dfa3") return "webm";
  return null;
}

export const AUDIO_CONTENT_TYPES: Record<AudioFormat, string> = { wav: "audio/wav", mp3: "audio/mpeg", ogg: "audio/ogg", flac: "audio/flac", m4a: "audio/mp4", webm: "audio/webm" };

/** Kept for callers of the previous fingerprint (decodes on the calling thread; training uses the render pool). */
export function meanRgb(bytes: Buffer): [number, number, number] | null {
  if (imageFormatOf(bytes) !== "png") return null;
  return analyzeReferencePng(bytes)?.mean_rgb ?? null;
}

/** Reads our own asset URLs from the asset store (ProviderContext.readAssetUrl). */
export type ReadAssetUrl = (url: string) => Promise<{ bytes: Uint8Array; contentType: string }> | null;

async function fetchChecked(url: string, index: number, list: TrainingReferenceError["list"], accept: string[], signal: AbortSignal, policy: OutboundPolicy, readAssetUrl?: ReadAssetUrl): Promise<Buffer> {
  const own = readAssetUrl?.(url);
  if (own) {
    try {
      const { bytes } = await own;
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "asset_not_found") throw new TrainingReferenceError(index, "fetch_failed", "the asset it names is not in this workspace", false, list);
      if (code === "asset_store_unavailable") throw new TrainingReferenceError(index, "fetch_failed", "the asset store did not answer", true, list);
      throw err;
    }
  }
  try {
    return (await guardedFetch(url, { policy, signal, accept, allowDataUrls: true })).bytes;
  } catch (err) {
    if (!isOutboundFetchError(err)) throw err;
    const transient = err.code === "fetch_timeout" || (err.code === "fetch_failed" && (err.status === undefined || err.status >= 500 || err.status === 429));
    throw new TrainingReferenceError(index, err.code, err.message, transient, list);
  }
}

export interface FetchedReference {
  index: number;
  url: string;
  bytes: Buffer;
  format: ImageFormat;
}

/** Fetches reference `index`; throws TrainingReferenceError when it cannot be used. */
export async function fetchReference(url: string, index: number, signal: AbortSignal, policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY, readAssetUrl?: ReadAssetUrl): Promise<FetchedReference> {
  const bytes = await fetchChecked(url, index, "image_urls", ["image/*"], signal, policy, readAssetUrl);
  const format = imageFormatOf(bytes);
  if (!format) throw new TrainingReferenceError(index, "unsupported_content_type", "the content is not a PNG, JPEG, GIF, WebP, BMP or AVIF/HEIF image", false);
  return { index, url, bytes, format };
}

export interface FetchedVoiceSample {
  index: number;
  bytes: Buffer;
  format: AudioFormat;
}

/** Fetches voice sample `index`; it must be audio (WAV, MP3, Ogg, FLAC, M4A or WebM). */
export async function fetchVoiceSample(url: string, index: number, signal: AbortSignal, policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY, readAssetUrl?: ReadAssetUrl): Promise<FetchedVoiceSample> {
  const bytes = await fetchChecked(url, index, "voice_sample_urls", ["audio/*", "application/ogg"], signal, policy, readAssetUrl);
  const format = audioFormatOf(bytes);
  if (!format) throw new TrainingReferenceError(index, "unsupported_content_type", "the content is not WAV, MP3, Ogg, FLAC, M4A or WebM audio", false, "voice_sample_urls");
  return { index, bytes, format };
}

/** PNG references are analysed in the render pool; other formats carry no colour (no decoder here). */
export async function analyzeReference(ref: FetchedReference, renderer: Renderer, signal: AbortSignal): Promise<ReferenceAnalysis | null> {
  if (ref.format !== "png") return null;
  try {
    const { bytes } = await renderer.render({ kind: "reference_analysis", png: new Uint8Array(ref.bytes) }, signal);
    return JSON.parse(new TextDecoder().decode(bytes)) as ReferenceAnalysis | null;
  } catch (err) {
    // Over RENDER_MAX_PIXELS: this reference cannot be used (the render bound is a refusal, not a retry).
    if (isProviderError(err) && err.code === "output_too_large") throw new TrainingReferenceError(ref.index, "fetch_too_large", err.providerMessage, false);
    throw err;
  }
}

/** Fetches every reference and analyses it; progress runs from `from` to `to`. */
export async function fetchAndAnalyzeReferences(
  imageUrls: string[],
  o: { signal: AbortSignal; policy: OutboundPolicy; renderer: Renderer; onProgress: (pct: number) => Promise<void>; from?: number; to?: number; readAssetUrl?: ReadAssetUrl },
): Promise<{ fetched: FetchedReference[]; analyses: Array<ReferenceAnalysis | null> }> {
  const from = o.from ?? 10;
  const to = o.to ?? 90;
  const fetched: FetchedReference[] = [];
  const analyses: Array<ReferenceAnalysis | null> = [];
  for (const [i, url] of imageUrls.entries()) {
    const ref = await fetchReference(url, i, o.signal, o.policy, o.readAssetUrl);
    fetched.push(ref);
    analyses.push(await analyzeReference(ref, o.renderer, o.signal));
    await o.onProgress(from + Math.round(((i + 1) / imageUrls.length) * (to - from)));
  }
  return { fetched, analyses };
}

/** Fetches reference `index` and fingerprints it by its average colour; throws TrainingReferenceError when it cannot be used. */
export async function fingerprintReference(url: string, index: number, signal: AbortSignal, policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY, renderer: Renderer = inlineRenderer()): Promise<ReferenceFingerprint> {
  const ref = await fetchReference(url, index, signal, policy);
  const analysis = await analyzeReference(ref, renderer, signal);
  return { url: displayUrl(url), mean_rgb: analysis?.mean_rgb ?? null };
}

const displayUrl = (url: string) => (url.startsWith("data:") ? url.slice(0, 64) : url);

export interface TrainingInput {
  character_id: string;
  name: string;
  image_urls: string[];
  attributes?: Record<string, unknown>;
  /** An ElevenLabs voice: given by the caller (`supplied`, checked to exist) or recorded after cloning (`cloned`). */
  voice_id?: string;
  voice_source?: "supplied" | "cloned";
  /** Audio to clone an ElevenLabs voice from (ElevenLabs deployments only). */
  voice_sample_urls?: string[];
}

/** What local/image uses from a character (media/procedural-png.ts ImageStyle, minus the key). */
export interface CharacterStyle {
  palette: Array<[number, number, number]>;
  composition: { center: [number, number] };
}

/**
 * The references' dominant colours, merged: each reference counts equally; colours within a
 * small distance are one; the 5 largest shares, most frequent first. The composition centre is
 * the references' average.
 */
export function combineStyle(analyses: Array<ReferenceAnalysis | null>): CharacterStyle {
  const usable = analyses.filter((a): a is ReferenceAnalysis => a !== null);
  const merged: Array<{ rgb: [number, number, number]; weight: number }> = [];
  for (const a of usable) {
    for (const c of a.colours) {
      const w = c.weight / usable.length;
      const near = merged.find((m) => Math.abs(m.rgb[0] - c.rgb[0]) + Math.abs(m.rgb[1] - c.rgb[1]) + Math.abs(m.rgb[2] - c.rgb[2]) < 24);
      if (near) near.weight += w;
      else merged.push({ rgb: c.rgb, weight: w });
    }
  }
  merged.sort((p, q) => q.weight - p.weight || p.rgb.join(",").localeCompare(q.rgb.join(",")));
  const major = merged.filter((m) => m.weight >= 0.02);
  const palette = (major.length ? major : merged).slice(0, 5).map((m) => m.rgb);
  const center: [number, number] = usable.length
    ? [round2(usable.reduce((s, a) => s + a.center[0], 0) / usable.length), round2(usable.reduce((s, a) => s + a.center[1], 0) / usable.length)]
    : [0.5, 0.5];
  return { palette, composition: { center } };
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export interface FalLora {
  /** Weights fal can load (`loras: [{path, scale}]` of fal-ai/flux-lora). */
  url: string;
  config_url: string | null;
  trainer_endpoint: string;
  /** The endpoint generations with this character use. */
  inference_endpoint: string;
}

export interface ArtifactVoice {
  provider: "elevenlabs";
  voice_id: string;
  source: "supplied" | "cloned";
}

export function triggerWordFor(input: Pick<TrainingInput, "name" | "image_urls">, references: ReferenceFingerprint[]): { fingerprint: string; trigger_word: string } {
  // From what the caller sent and what the artifact shows anyway: never from the fetched bytes.
  const fingerprint = createHash("sha256")
    .update(JSON.stringify([input.name, input.image_urls, references.map((r) => r.mean_rgb)]))
    .digest("hex");
  return { fingerprint, trigger_word: `soul_${fingerprint.slice(0, 8)}` };
}

export function fingerprintsOf(imageUrls: string[], analyses: Array<ReferenceAnalysis | null>): ReferenceFingerprint[] {
  return imageUrls.map((url, i) => ({ url: displayUrl(url), mean_rgb: analyses[i]?.mean_rgb ?? null }));
}

/** The artifact (`application/json`, format `aeriox-lora/v1`). Deterministic for the same references and trainer result. */
export function buildArtifact(
  input: TrainingInput,
  analyses: Array<ReferenceAnalysis | null>,
  o: { trainer: TrainerName; lora?: FalLora | null; voice?: ArtifactVoice | null },
) {
  const references = fingerprintsOf(input.image_urls, analyses);
  const withColour = references.filter((r) => r.mean_rgb);
  const mean = withColour.length
    ? ([0, 1, 2].map((c) => Math.round(withColour.reduce((s, r) => s + r.mean_rgb![c]!, 0) / withColour.length)) as [number, number, number])
    : null;
  const { fingerprint, trigger_word } = triggerWordFor(input, references);
  const style = combineStyle(analyses);
  const artifact = {
    format: ARTIFACT_FORMAT,
    /** Which trainer made it: `local` (offline palette + composition) or `fal` (a FLUX LoRA trained on fal.ai). */
    trainer: o.trainer,
    character_id: input.character_id,
    name: input.name,
    trigger_word,
    fingerprint,
    mean_rgb: mean,
    palette: style.palette,
    composition: style.composition,
    lora: o.lora ?? null,
    voice_id: o.voice?.voice_id ?? null,
    voice: o.voice ?? null,
    references,
    attributes: input.attributes ?? {},
  };
  return { artifact, bytes: new TextEncoder().encode(JSON.stringify(artifact, null, 2)) };
}

export type TrainingArtifact = ReturnType<typeof buildArtifact>["artifact"];

/** The local trainer end to end (no voice, no provider): fetch, analyse in the renderer, artifact. */
export async function trainCharacter(
  input: TrainingInput,
  signal: AbortSignal,
  onProgress: (pct: number) => Promise<void>,
  policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY,
  renderer: Renderer = inlineRenderer(),
) {
  const { analyses } = await fetchAndAnalyzeReferences(input.image_urls, { signal, policy, renderer, onProgress });
  return buildArtifact(input, analyses, { trainer: "local" });
}
