/**
 * Semantic search over the workspace's live cards: the query is embedded with the
 * runtime's `CardEmbedder` and compared by cosine similarity (dot product of
 * L2-normalised vectors) with each card's stored `cards.embedding` (real[]).
 *
 * Two strategies, same results:
 * - `sql` (default): the similarity is computed inside the database, in one query that
 *   works on PGlite and PostgreSQL alike (a sum over the query's non-zero buckets, see
 *   `similarityExpression`), filters by `min_similarity`, counts the matches and returns
 *   only the top `limit` rows.
 * - `js`: reads the workspace's vectors (bounded to the newest `JS_SCAN_LIMIT`),
 *   scores them in JS and loads the top rows. Kept for comparison (see
 *   test/cards/search.test.ts) and as a fallback.
 *
 * Measured on 1,000 cards (median of 15 searches, test/cards/search.test.ts): sparse
 * SQL 5.5–8 ms on PGlite and 2.7–3.7 ms on PostgreSQL; the JS scan ~40 ms on both (moving
 * 1,000 × 256 floats out of the database dominates); a dense SQL dot product via
 * `unnest(embedding, query)` was 107 ms on PGlite and 45 ms on PostgreSQL.
 */
import type { Runtime } from "../runtime.ts";
import { Prisma } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import { parseCardType } from "./types.ts";
import { cardDocument, cardEmbedderOf, dot, searchUnavailable, tokenize, type CardEmbedder } from "./embedding.ts";

type SearchServices = Pick<Runtime, "db" | "logger">;

export interface SearchQuery {
  q: string;
  limit?: number;
  card_type?: string;
  min_similarity?: number;
}

export interface SearchHit {
  id: string;
  card_type: string;
  name: string;
  description: string | null;
  preview_url: string | null;
  thumb_url: string | null;
  similarity: number;
  created_at: string;
}

export interface SearchResult {
  items: SearchHit[];
  total: number;
  query_tokens: number;
  query_doc_chars: number;
}

export type SearchStrategy = "sql" | "js";

export const SEARCH_DEFAULT_LIMIT = 20;
const JS_SCAN_LIMIT = 20_000;
/** Cards re-embedded per search when their vector is missing or of another dimension. */
const BACKFILL_BATCH = 200;

interface Row {
  id: string;
  card_type: string;
  name: string;
  description: string | null;
  preview_url: string | null;
  thumb_url: string | null;
  created_at: Date;
  similarity: number;
}

/**
 * The dot product with the query as SQL. A query vector is sparse (a few words touch a
 * few dozen of the buckets), so `e[i1]*q1 + e[i2]*q2 + ...` over its non-zero entries
 * reads a handful of array elements per card instead of unnesting every vector.
 * Indexes are integers we generate; weights are bound parameters.
 */
function similarityExpression(q: Float32Array): Prisma.Sql {
  const terms: Prisma.Sql[] = [];
  q.forEach((weight, i) => {
    if (weight !== 0) terms.push(Prisma.sql`c.embedding[${Prisma.raw(String(i + 1))}] * ${weight}::float8`);
  });
  return terms.length ? Prisma.sql`(${Prisma.join(terms, " + ")})` : Prisma.sql`0::float8`;
}

/** Six decimals are plenty and keep responses stable across backends' float formatting. */
function round(similarity: number): number {
  return Math.max(0, Math.min(1, Math.round(similarity * 1e6) / 1e6));
}

function toHit(row: Row): SearchHit {
  return {
    id: row.id,
    card_type: row.card_type,
    name: row.name,
    description: row.description,
    preview_url: row.preview_url,
    thumb_url: row.thumb_url,
    similarity: round(Number(row.similarity)),
    created_at: new Date(row.created_at).toISOString(),
  };
}

/** Embeds (bounded per call) the workspace's live cards whose vector is missing or has another length. */
async function backfill(services: SearchServices, embedder: CardEmbedder, workspaceId: string): Promise<void> {
  const stale = await services.db.prisma.$queryRaw<Array<{ id: string }>>`
    SELECT id FROM cards
    WHERE workspace_id = ${workspaceId}::uuid AND deleted_at IS NULL AND coalesce(cardinality(embedding), 0) <> ${embedder.dimensions}
    ORDER BY created_at DESC LIMIT ${BACKFILL_BATCH}`;
  if (stale.length === 0) return;
  const cards = await services.db.prisma.card.findMany({ where: { id: { in: stale.map((s) => s.id) } } });
  const vectors = await embedder.embed(cards.map(cardDocument), "document");
  for (const [i, card] of cards.entries()) {
    await services.db.prisma.card.update({ where: { id: card.id }, data: { embedding: Array.from(vectors[i]!.vector) } });
  }
}

/** A backend failure that is not already an ApiError (network, timeout, bad payload) is a 503 `search_unavailable`. */
async function unavailableOnFailure<T>(services: SearchServices, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    services.logger.warn({ err: (err as Error).message }, "card embedding backend failed");
    throw searchUnavailable();
  }
}

/**
 * Cards with a similarity of at least `min_similarity` AND above zero (a card that
 * shares no feature with the query is not a result), best first; ties by newest, then id.
 */
export async function searchCards(services: SearchServices, workspaceId: string, query: SearchQuery, strategy: SearchStrategy = "sql"): Promise<SearchResult> {
  const limit = query.limit ?? SEARCH_DEFAULT_LIMIT;
  // Half a unit of the 6th decimal of slack: a score shown as 1 passes min_similarity=1.
  const minSimilarity = (query.min_similarity ?? 0) - 5e-7;
  const cardType = query.card_type !== undefined ? parseCardType(query.card_type, "query.card_type") : undefined;
  const text = query.q.trim();
  if (tokenize(text).length === 0) {
    throw ApiError.badRequest("invalid_request", "Request validation failed: query.q has no searchable words", { fields: [{ field: "query.q", message: "must contain at least one letter or digit" }] });
  }
  const embedder = cardEmbedderOf(services);
  const [embedded] = await unavailableOnFailure(services, () => embedder.embed([text], "query"));
  const q = embedded!.vector;
  await unavailableOnFailure(services, () => backfill(services, embedder, workspaceId));

  const typeFilter = cardType ? Prisma.sql`AND card_type = ${cardType}` : Prisma.empty;
  let hits: SearchHit[];
  let total: number;
  if (strategy === "sql") {
    const rows = await services.db.prisma.$queryRaw<Array<Row & { total: bigint | number }>>`
      WITH scored AS (
        SELECT c.id, c.card_type, c.name, c.description, c.preview_url, c.thumb_url, c.created_at,
               ${similarityExpression(q)} AS similarity
        FROM cards c
        WHERE c.workspace_id = ${workspaceId}::uuid AND c.deleted_at IS NULL
          AND cardinality(c.embedding) = ${embedder.dimensions} ${typeFilter}
      )
      SELECT *, count(*) OVER () AS total FROM scored
      WHERE similarity >= ${minSimilarity}::float8 AND similarity > 0
      ORDER BY similarity DESC, created_at DESC, id
      LIMIT ${limit}`;
    hits = rows.map(toHit);
    total = rows.length ? Number(rows[0]!.total) : 0;
  } else {
    const vectors = await services.db.prisma.$queryRaw<Array<{ id: string; created_at: Date; embedding: number[] }>>`
      SELECT id, created_at, embedding FROM cards
      WHERE workspace_id = ${workspaceId}::uuid AND deleted_at IS NULL
        AND cardinality(embedding) = ${embedder.dimensions} ${typeFilter}
      ORDER BY created_at DESC LIMIT ${JS_SCAN_LIMIT}`;
    const scored = vectors
      .map((v) => ({ id: v.id, created: new Date(v.created_at).getTime(), similarity: dot(v.embedding, q) }))
      .filter((s) => s.similarity >= minSimilarity && s.similarity > 0)
      .sort((a, b) => b.similarity - a.similarity || b.created - a.created || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    total = scored.length;
    const top = scored.slice(0, limit);
    const cards = new Map((await services.db.prisma.card.findMany({ where: { id: { in: top.map((t) => t.id) } } })).map((c) => [c.id, c]));
    hits = top.map((t) => {
      const c = cards.get(t.id)!;
      return toHit({ id: c.id, card_type: c.cardType, name: c.name, description: c.description, preview_url: c.previewUrl, thumb_url: c.thumbUrl, created_at: c.createdAt, similarity: t.similarity });
    });
  }
  return { items: hits, total, query_tokens: embedded!.tokens, query_doc_chars: text.length };
}
