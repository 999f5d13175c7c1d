/**
 * Card embeddings for semantic search, behind one small interface so the backend
 * can change without touching search:
 *
 * - `LocalHashEmbedder` (the default, offline, deterministic): the text is
 *   lower-cased, diacritics stripped and split into words; each word contributes a
 *   unigram feature (weight 1) and its character trigrams of `#word#` (weight 0.35
 *   each, so "fox" still meets "foxes"); stop-words are dropped. A feature's summed
 *   weight w becomes log(1 + w) (sub-linear term frequency) and is added, with FNV-1a
 *   32-bit hashing, into 2 of a fixed number of buckets (256), which halves the damage
 *   of any one hash collision. Weights are non-negative and the vector is
 *   L2-normalised, so the dot product of two vectors is their cosine similarity, in [0, 1].
 * - A hosted backend (e.g. Voyage) would implement the same interface: `embed` posts
 *   the texts and returns its vectors, throwing `searchUnavailable()` (503
 *   `search_unavailable`) when the service is down. It is registered per runtime with
 *   `setCardEmbedder(runtime, embedder)` (the composition root would pick it from
 *   config, e.g. when a `VOYAGE_API_KEY` is set). Vectors of different embedders are
 *   not comparable: each stored vector must have `dimensions` entries, and cards whose
 *   stored vector has another length are re-embedded lazily by search (see search.ts).
 */
import { ApiError } from "../errors.ts";

export interface Embedding {
  vector: Float32Array;
  /** Word tokens seen in the text (what a hosted backend would bill). */
  tokens: number;
}

export interface CardEmbedder {
  /** Stable name of the model/version, e.g. `local-hash-v1-256`. */
  readonly id: string;
  readonly dimensions: number;
  /** Embeds texts; `kind` lets asymmetric backends (Voyage's input_type) tell queries from documents. */
  embed(texts: string[], kind: "document" | "query", signal?: AbortSignal): Promise<Embedding[]>;
}

export function searchUnavailable(reason = "Semantic search is unavailable"): ApiError {
  return ApiError.unavailable("search_unavailable", reason);
}

const STOP_WORDS = new Set(
  "a an and are as at be by for from has have in is it its of on or the this to with was were will".split(" "),
);

/** Lower-cased, accent-free words of the text (letters and digits of any script). */
export function tokenize(text: string): string[] {
  const normalized = text.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase();
  return normalized.match(/[\p{L}\p{N}]+/gu) ?? [];
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

const UNIGRAM_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.35;
/** Buckets per feature: a collision with one unrelated feature then moves the score by half as much. */
const PROBES = 2;

export function hashEmbed(text: string, dimensions: number): Embedding {
  const words = tokenize(text);
  const features = new Map<string, number>();
  const add = (feature: string, weight: number) => features.set(feature, (features.get(feature) ?? 0) + weight);
  for (const word of words) {
    if (STOP_WORDS.has(word)) continue;
    add(`w:${word}`, UNIGRAM_WEIGHT);
    const padded = `#${word}#`;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, TRIGRAM_WEIGHT);
  }
  const vector = new Float32Array(dimensions);
  const scale = 1 / Math.sqrt(PROBES);
  for (const [feature, weight] of features) {
    // Sub-linear term frequency: a word repeated in name and description does not drown the rest.
    const value = Math.log1p(weight) * scale;
    for (let probe = 0; probe < PROBES; probe++) vector[fnv1a(`${probe}${feature}`) % dimensions]! += value;
  }
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < dimensions; i++) vector[i]! /= norm;
  return { vector, tokens: words.length };
}

export class LocalHashEmbedder implements CardEmbedder {
  readonly id: string;
  constructor(readonly dimensions = 256) {
    this.id = `local-hash-v1-${dimensions}`;
  }
  async embed(texts: string[]): Promise<Embedding[]> {
    return texts.map((t) => hashEmbed(t, this.dimensions));
  }
}

export const defaultCardEmbedder: CardEmbedder = new LocalHashEmbedder(256);

const registered = new WeakMap<object, CardEmbedder>();

/** Plugs another backend into a runtime (composition root or tests). */
export function setCardEmbedder(runtime: object, embedder: CardEmbedder): void {
  registered.set(runtime, embedder);
}

export function cardEmbedderOf(runtime: object): CardEmbedder {
  return registered.get(runtime) ?? defaultCardEmbedder;
}

/** Cosine similarity of two L2-normalised vectors (their dot product). */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) sum += a[i]! * b[i]!;
  return sum;
}

const MAX_DOC_CHARS = 8000;

/** What gets embedded for a card: name, description and the string values of its attributes (sorted keys, bounded). */
export function cardDocument(card: { name: string; description: string | null; attributes: unknown }): string {
  const parts: string[] = [card.name, card.description ?? ""];
  const walk = (value: unknown, depth: number): void => {
    if (depth > 4) return;
    if (typeof value === "string") {
      if (!/^(https?:|data:)/i.test(value)) parts.push(value);
    } else if (Array.isArray(value)) value.forEach((v) => walk(v, depth + 1));
    else if (value && typeof value === "object") {
      for (const key of Object.keys(value).sort()) walk((value as Record<string, unknown>)[key], depth + 1);
    }
  };
  walk(card.attributes, 0);
  return parts.filter((p) => p.trim().length > 0).join("\n").slice(0, MAX_DOC_CHARS);
}
