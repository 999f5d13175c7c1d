/**
 * Offline, deterministic character "training": a small JSON LoRA-like artifact with a
 * style fingerprint of the reference images. Nothing is downloaded from a host that does
 * not answer: each http(s) URL is fetched with a short timeout and a size cap, and when
 * that fails the reference is fingerprinted from its URL alone (`fetched: false`).
 * `data:` URIs are decoded in place. PNG references contribute their average colour.
 */
import { createHash } from "node:crypto";
import { PNG } from "pngjs";

export const FETCH_TIMEOUT_MS = 3_000;
export const MAX_REFERENCE_BYTES = 10 * 1024 * 1024;

export interface ReferenceFingerprint {
  url: string;
  fetched: boolean;
  sha256: string;
  bytes: number | null;
  content_type: string | null;
  mean_rgb: [number, number, number] | null;
}

async function fetchCapped(url: string, signal: AbortSignal): Promise<{ bytes: Buffer; contentType: string | null } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)]), redirect: "follow" });
    if (!res.ok || !res.body) return null;
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > MAX_REFERENCE_BYTES) {
      await res.body.cancel().catch(() => undefined);
      return null;
    }
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > MAX_REFERENCE_BYTES) return null;
      chunks.push(Buffer.from(chunk));
    }
    return { bytes: Buffer.concat(chunks), contentType: res.headers.get("content-type") };
  } catch {
    return null;
  }
}

function decodeDataUri(uri: string): { bytes: Buffer; contentType: string | null } | null {
  const m = /^data:([^;,]*)(;base64)?,(.*)$/s.exec(uri);
  if (!m) return null;
  const bytes = m[2] ? Buffer.from(m[3]!, "base64") : Buffer.from(decodeURIComponent(m[3]!));
  return bytes.byteLength > MAX_REFERENCE_BYTES ? null : { bytes, contentType: m[1] || null };
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

export async function fingerprintReference(url: string, signal: AbortSignal): Promise<ReferenceFingerprint> {
  const got = url.startsWith("data:") ? decodeDataUri(url) : /^https?:\/\//i.test(url) ? await fetchCapped(url, signal) : null;
  if (!got) return { url: url.startsWith("data:") ? url.slice(0, 64) : url, fetched: false, sha256: createHash("sha256").update(url).digest("hex"), bytes: null, content_type: null, mean_rgb: null };
  return {
    url: url.startsWith("data:") ? url.slice(0, 64) : url,
    fetched: true,
    sha256: createHash("sha256").update(got.bytes).digest("hex"),
    bytes: got.bytes.byteLength,
    content_type: got.contentType,
    mean_rgb: meanRgb(got.bytes),
  };
}

export interface TrainingInput {
  character_id: string;
  name: string;
  image_urls: string[];
  attributes?: Record<string, unknown>;
  voice_id: string;
}

/** The artifact (`application/json`, format `aeriox-lora/v1`). Deterministic for the same references. */
export async function trainCharacter(input: TrainingInput, signal: AbortSignal, onProgress: (pct: number) => Promise<void>) {
  const references: ReferenceFingerprint[] = [];
  for (const [i, url] of input.image_urls.entries()) {
    references.push(await fingerprintReference(url, signal));
    await onProgress(10 + Math.round(((i + 1) / input.image_urls.length) * 80));
  }
  const withColour = references.filter((r) => r.mean_rgb);
  const palette = withColour.length
    ? ([0, 1, 2].map((c) => Math.round(withColour.reduce((s, r) => s + r.mean_rgb![c]!, 0) / withColour.length)) as [number, number, number])
    : null;
  const fingerprint = createHash("sha256")
    .update(JSON.stringify([input.name, references.map((r) => r.sha256)]))
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
