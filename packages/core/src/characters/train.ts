/**
 * Offline, deterministic character "training": a small JSON LoRA-like artifact with a
 * style fingerprint of the reference images.
 *
 * Every reference is fetched through the guarded fetcher (docs/ARCHITECTURE.md, Access →
 * Outbound fetches); `data:` URIs are decoded there too. A reference that is refused,
 * unreachable, too large or not an image fails the training (the job engine then refunds the
 * whole hold): a character is never trained from references we could not read.
 *
 * The artifact is readable by the caller, so it carries nothing that could confirm fetched
 * bytes exactly (no hash, size or content type): per reference only the average colour of a
 * decoded PNG, which many different images share.
 */
import { createHash } from "node:crypto";
import { PNG } from "pngjs";
import { DEFAULT_OUTBOUND_POLICY, guardedFetch, isOutboundFetchError, type OutboundFetchErrorCode, type OutboundPolicy } from "../net/index.ts";

export interface ReferenceFingerprint {
  url: string;
  mean_rgb: [number, number, number] | null;
}

/** A reference that could not be used; `index` is its position in image_urls. */
export class TrainingReferenceError extends Error {
  readonly index: number;
  readonly code: OutboundFetchErrorCode;
  /** Worth another attempt (timeout, network error, upstream 5xx); refusals and bad content are not. */
  readonly retryable: boolean;

  constructor(index: number, code: OutboundFetchErrorCode, reason: string, retryable: boolean) {
    super(`Reference image ${index + 1} (image_urls[${index}]) could not be used: ${reason}`);
    this.name = "TrainingReferenceError";
    this.index = index;
    this.code = code;
    this.retryable = retryable;
  }
}

/** Magic numbers of the image formats a reference may be in (the Content-Type alone proves nothing). */
function looksLikeImage(b: Buffer): boolean {
  const hex = (from: number, to: number) => b.subarray(from, to).toString("hex");
  const ascii = (from: number, to: number) => b.subarray(from, to).toString("latin1");
  return (
    hex(0, 8) === "89504e470d0a1a0a" || // PNG
    hex(0, 3) === "ffd8ff" || // JPEG
    ascii(0, 6) === "GIF87a" ||
    ascii(0, 6) === "GIF89a" ||
    (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") ||
    ascii(0, 2) === "BM" ||
    (ascii(4, 8) === "ftyp" && ["avif", "avis", "heic", "heix", "mif1"].includes(ascii(8, 12)))
  );
}

export function meanRgb(bytes: Buffer): [number, number, number] | null {
  if (bytes.subarray(0, 8).toString("hex") !== "89504e470d0a1a0a") return null;
  try {
    const png = PNG.sync.read(bytes);
    let r = 0;
    let g = 0;
    let b = 0;
    const n = png.width * png.height;
    for (let i = 0; i < n * 4; i += 4) {
      r += png.data[i]!;
      g += png.data[i + 1]!;
      b += png.data[i + 2]!;
    }
    return n === 0 ? null : [Math.round(r / n), Math.round(g / n), Math.round(b / n)];
  } catch {
    return null;
  }
}

/** Fetches reference `index` and fingerprints it; throws TrainingReferenceError when it cannot be used. */
export async function fingerprintReference(url: string, index: number, signal: AbortSignal, policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY): Promise<ReferenceFingerprint> {
  let bytes: Buffer;
  try {
    ({ bytes } = await guardedFetch(url, { policy, signal, accept: ["image/*"], allowDataUrls: true }));
  } catch (err) {
    if (!isOutboundFetchError(err)) throw err;
    const transient = err.code === "fetch_timeout" || (err.code === "fetch_failed" && (err.status === undefined || err.status >= 500 || err.status === 429));
    throw new TrainingReferenceError(index, err.code, err.message, transient);
  }
  if (!looksLikeImage(bytes)) throw new TrainingReferenceError(index, "unsupported_content_type", "the content is not a PNG, JPEG, GIF, WebP, BMP or AVIF/HEIF image", false);
  return { url: url.startsWith("data:") ? url.slice(0, 64) : url, mean_rgb: meanRgb(bytes) };
}

export interface TrainingInput {
  character_id: string;
  name: string;
  image_urls: string[];
  attributes?: Record<string, unknown>;
  voice_id: string;
}

/** The artifact (`application/json`, format `aeriox-lora/v1`). Deterministic for the same references. */
export async function trainCharacter(input: TrainingInput, signal: AbortSignal, onProgress: (pct: number) => Promise<void>, policy: OutboundPolicy = DEFAULT_OUTBOUND_POLICY) {
  const references: ReferenceFingerprint[] = [];
  for (const [i, url] of input.image_urls.entries()) {
    references.push(await fingerprintReference(url, i, signal, policy));
    await onProgress(10 + Math.round(((i + 1) / input.image_urls.length) * 80));
  }
  const withColour = references.filter((r) => r.mean_rgb);
  const palette = withColour.length
    ? ([0, 1, 2].map((c) => Math.round(withColour.reduce((s, r) => s + r.mean_rgb![c]!, 0) / withColour.length)) as [number, number, number])
    : null;
  // From what the caller sent and what the artifact shows anyway: never from the fetched bytes.
  const fingerprint = createHash("sha256")
    .update(JSON.stringify([input.name, input.image_urls, references.map((r) => r.mean_rgb)]))
    .digest("hex");
  const artifact = {
    format: "aeriox-lora/v1",
    character_id: input.character_id,
    name: input.name,
    trigger_word: `soul_${fingerprint.slice(0, 8)}`,
    fingerprint,
    mean_rgb: palette,
    voice_id: input.voice_id,
    references,
    attributes: input.attributes ?? {},
  };
  return { artifact, bytes: new TextEncoder().encode(JSON.stringify(artifact, null, 2)) };
}
