/**
 * Card embeddings from a real model, when the operator configures one (config.ts):
 *
 * - `VoyageEmbedder` (VOYAGE_API_KEY, VOYAGE_MODEL, default `voyage-3.5-lite`) through the
 *   official `voyageai` SDK, with `input_type` `document` for cards and `query` for searches.
 *   The SDK reaches Voyage's own fixed API host with its own fetch, like every provider SDK
 *   (ARCHITECTURE.md, Outbound fetches: provider SDK calls to their own fixed hosts are not
 *   caller URLs).
 * - `OpenAICompatibleEmbedder` (EMBEDDINGS_BASE_URL, EMBEDDINGS_MODEL, optional
 *   EMBEDDINGS_API_KEY): `POST {base}/embeddings` `{input, model}` → `{data: [{embedding, index}]}`,
 *   which OpenAI, and local servers (llama.cpp, Ollama, text-embeddings-inference, LM Studio…)
 *   answer, so semantic search needs no cloud. The URL is the operator's, fixed at start-up and
 *   never influenced by a caller, so it is treated like a provider's fixed host: plain `fetch`,
 *   pinned to that one URL, redirects refused, one deadline (EMBEDDINGS_TIMEOUT_MS) and a
 *   bounded answer. Not the guarded fetcher: it only GETs, and its address policy is there to
 *   stop callers' URLs reaching private addresses — where a local embedding server lives.
 *
 * Without either there is no embedder (`cardEmbedderOf` answers null) and search is lexical
 * (search.ts). Vectors are L2-normalised here, so cosine similarity is their dot product and
 * `1 - cosine distance` in pgvector. Vectors of different models are not comparable: a card
 * records which `id` produced its vector, and only vectors of the current model are ranked.
 *
 * Every failure is an ApiError 503 `search_unavailable` whose message names the backend and
 * the reason (HTTP status, timeout), never the key or a response body.
 */
import type { VoyageAIClient } from "voyageai";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { lazyModule } from "../lazy-module.ts";

/** Imported with the first embedding request (lazy-module.ts): a server without VOYAGE_API_KEY never loads it. */
const voyageSdk = lazyModule(() => import("voyageai"));

export type EmbedKind = "document" | "query";

export interface EmbedResult {
  /** One L2-normalised vector per input text, in input order. */
  vectors: number[][];
  /** Tokens the backend counted, when it says. */
  tokens: number | null;
}

export interface CardEmbedder {
  /** Stable name of backend and model, stored with each vector, e.g. `voyage:voyage-3.5-lite`. */
  readonly id: string;
  embed(texts: string[], kind: EmbedKind, signal?: AbortSignal): Promise<EmbedResult>;
}

export function searchUnavailable(reason = "Semantic search is unavailable"): ApiError {
  return ApiError.unavailable("search_unavailable", reason);
}

/** Lower-cased, accent-free words of the text (letters and digits of any script). */
export function tokenize(text: string): string[] {
  const normalized = text.normalize("NFKD").replace(/\p{M}+/gu, "").toLowerCase();
  return normalized.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Most dimensions any model we accept produces; a longer answer is refused as malformed. */
const MAX_DIMENSIONS = 8192;
/** The answer of one batch; 64 texts × 4096 floats as JSON stay well below it. */
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

function normalise(vector: number[], backend: string): number[] {
  if (vector.length === 0 || vector.length > MAX_DIMENSIONS || !vector.every((v) => typeof v === "number" && Number.isFinite(v))) {
    throw searchUnavailable(`${backend} answered a malformed embedding`);
  }
  let norm = 0;
  for (const v of vector) norm += v * v;
  norm = Math.sqrt(norm);
  if (norm === 0) throw searchUnavailable(`${backend} answered a zero vector`);
  return vector.map((v) => v / norm);
}

/** `data: [{embedding, index}]` in any order → vectors in input order, all of one length. */
function vectorsOf(data: unknown, count: number, backend: string): number[][] {
  if (!Array.isArray(data) || data.length !== count) throw searchUnavailable(`${backend} answered ${Array.isArray(data) ? data.length : "no"} embeddings for ${count} texts`);
  const out: number[][] = new Array(count);
  data.forEach((item, position) => {
    const entry = item as { embedding?: unknown; index?: unknown };
    const index = typeof entry.index === "number" ? entry.index : position;
    if (!Number.isInteger(index) || index < 0 || index >= count || out[index] || !Array.isArray(entry.embedding)) {
      throw searchUnavailable(`${backend} answered a malformed embedding list`);
    }
    out[index] = normalise(entry.embedding as number[], backend);
  });
  if (new Set(out.map((v) => v.length)).size !== 1) throw searchUnavailable(`${backend} answered embeddings of different lengths`);
  return out;
}

export class VoyageEmbedder implements CardEmbedder {
  readonly id: string;
  private client: VoyageAIClient | undefined;
  constructor(private readonly options: { apiKey: string; model: string; timeoutMs: number }) {
    this.id = `voyage:${options.model}`;
  }
  async embed(texts: string[], kind: EmbedKind, signal?: AbortSignal): Promise<EmbedResult> {
    const { VoyageAIClient } = await voyageSdk();
    // Retries are ours (embedding-queue.ts): a request that fails is not repeated inside one HTTP call.
    this.client ??= new VoyageAIClient({ apiKey: this.options.apiKey, maxRetries: 0, timeoutInSeconds: this.options.timeoutMs / 1000 });
    let response;
    try {
      response = await this.client.embed({ input: texts, model: this.options.model, inputType: kind }, { ...(signal ? { abortSignal: signal } : {}), maxRetries: 0, timeoutInSeconds: this.options.timeoutMs / 1000 });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const status = (err as { statusCode?: number }).statusCode;
      const timedOut = (err as Error).name === "VoyageAITimeoutError";
      throw searchUnavailable(`Voyage embeddings failed: ${timedOut ? "timed out" : status ? `HTTP ${status}` : "network error"}`);
    }
    return { vectors: vectorsOf(response.data, texts.length, "Voyage"), tokens: response.usage?.totalTokens ?? null };
  }
}

export class OpenAICompatibleEmbedder implements CardEmbedder {
  readonly id: string;
  private readonly url: string;
  private readonly host: string;
  constructor(private readonly options: { baseUrl: string; model: string; apiKey?: string | undefined; timeoutMs: number }) {
    this.url = `${options.baseUrl.replace(/\/+$/, "")}/embeddings`;
    this.host = new URL(this.url).host;
    this.id = `openai-compatible:${options.model}`;
  }
  async embed(texts: string[], kind: EmbedKind, signal?: AbortSignal): Promise<EmbedResult> {
    void kind; // The OpenAI wire format has no input type; models that want a prefix get it from their server.
    const backend = `embeddings endpoint ${this.host}`;
    const deadline = AbortSignal.timeout(this.options.timeoutMs);
    let body: unknown;
    try {
      const res = await fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) },
        body: JSON.stringify({ input: texts, model: this.options.model }),
        redirect: "error",
        signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
      });
      if (!res.ok) {
        // Not awaited: the status is all we need, and cancelling must not wait on the peer.
        res.body?.cancel().catch(() => undefined);
        throw searchUnavailable(`${backend} answered HTTP ${res.status}`);
      }
      body = JSON.parse(await readBounded(res, backend));
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof ApiError) throw err;
      throw searchUnavailable(`${backend} ${deadline.aborted ? "timed out" : err instanceof SyntaxError ? "answered invalid JSON" : "could not be reached"}`);
    }
    const usage = (body as { usage?: { total_tokens?: unknown } }).usage;
    return { vectors: vectorsOf((body as { data?: unknown }).data, texts.length, backend), tokens: typeof usage?.total_tokens === "number" ? usage.total_tokens : null };
  }
}

async function readBounded(res: Response, backend: string): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > MAX_RESPONSE_BYTES) throw searchUnavailable(`${backend} answered more than ${MAX_RESPONSE_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

type EmbedderConfig = Pick<Config, "VOYAGE_API_KEY" | "VOYAGE_MODEL" | "EMBEDDINGS_BASE_URL" | "EMBEDDINGS_MODEL" | "EMBEDDINGS_API_KEY" | "EMBEDDINGS_TIMEOUT_MS">;

/** The configured embedder, or null (lexical search). An explicit endpoint wins over Voyage. */
export function embedderFromConfig(config: EmbedderConfig): CardEmbedder | null {
  if (config.EMBEDDINGS_BASE_URL && config.EMBEDDINGS_MODEL) {
    return new OpenAICompatibleEmbedder({ baseUrl: config.EMBEDDINGS_BASE_URL, model: config.EMBEDDINGS_MODEL, apiKey: config.EMBEDDINGS_API_KEY, timeoutMs: config.EMBEDDINGS_TIMEOUT_MS });
  }
  if (config.VOYAGE_API_KEY) return new VoyageEmbedder({ apiKey: config.VOYAGE_API_KEY, model: config.VOYAGE_MODEL, timeoutMs: config.EMBEDDINGS_TIMEOUT_MS });
  return null;
}

const resolved = new WeakMap<object, { embedder: CardEmbedder | null }>();

/** Replaces a runtime's embedder (tests; null: none, lexical search). */
export function setCardEmbedder(runtime: object, embedder: CardEmbedder | null): void {
  resolved.set(runtime, { embedder });
}

/** The runtime's embedder: what its config names (created once), unless replaced. */
export function cardEmbedderOf(runtime: { config: EmbedderConfig }): CardEmbedder | null {
  let entry = resolved.get(runtime);
  if (!entry) {
    entry = { embedder: embedderFromConfig(runtime.config) };
    resolved.set(runtime, entry);
  }
  return entry.embedder;
}

const MAX_DOC_CHARS = 8000;

/** What gets embedded for a card: name, description and the string values of its attributes (sorted keys, bounded). */
export function cardDocument(card: { name: string; description: string | null; attributes: unknown }): string {
  const parts: string[] = [card.name];
  if (card.description) parts.push(card.description);
  const walk = (value: unknown, depth: number): void => {
    if (depth > 4) return;
    if (typeof value === "string") parts.push(value);
    else if (Array.isArray(value)) for (const v of value) walk(v, depth + 1);
    else if (value && typeof value === "object") {
      for (const key of Object.keys(value).sort()) walk((value as Record<string, unknown>)[key], depth + 1);
    }
  };
  walk(card.attributes, 0);
  return parts.filter((p) => p.trim().length > 0).join("\n").slice(0, MAX_DOC_CHARS);
}
