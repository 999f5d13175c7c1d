/**
 * Card search over the workspace's live cards and the global ones, in one of two modes,
 * and the answer says which (`mode`, and the `X-Search-Mode` header set by the handler):
 *
 * - `semantic`: an embedding model is configured (embedding.ts) and answered the query.
 *   The query is embedded with `input_type` query and ranked by cosine similarity against the
 *   cards' stored vectors of the same model. Where pgvector exists (PGlite) the ranking is
 *   pgvector's cosine distance over `embedding::vector(d)`, which the HNSW index of that
 *   dimension serves (embedding-queue.ts; iterative scans keep filtered results exact);
 *   otherwise (PostgreSQL here) the dot product of the normalised `real[]` vectors in SQL.
 *   Default threshold SEMANTIC_DEFAULT_MIN. Cards whose vector is still pending (embedder
 *   down when they were written) are embedded first, up to SEARCH_BATCH per search.
 * - `lexical`: no model is configured, or it failed and SEARCH_REQUIRE_SEMANTIC is off. It
 *   is what it says: PostgreSQL full-text search (`english` stemming, so "foxes" finds
 *   "fox"; accents folded where `unaccent` exists) and `pg_trgm` word similarity against
 *   name and description (so "detectiv" finds "Detective"), where pg_trgm exists. A card's
 *   score is the greater of the two; a full-text match scores at least 0.5. Default
 *   threshold LEXICAL_DEFAULT_MIN, so cards sharing no word (nor a near-spelling of one)
 *   with the query do not come back. Words that only mean the same ("sleuth", "detective")
 *   are not found: that needs a model.
 *
 * With SEARCH_REQUIRE_SEMANTIC=true there is no lexical fallback: 503 `search_unavailable`
 * when no model is configured or it does not answer (the seed's contract).
 */
import type { operations } from "@aeriox/contract/api";
import type { Runtime } from "../runtime.ts";
import { Prisma } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import { parseCardType } from "./types.ts";
import { cardEmbedderOf, searchUnavailable, tokenize, type CardEmbedder } from "./embedding.ts";
import { embedCards, hasPgvector, pendingCards, realArray, SEARCH_BATCH } from "./embedding-queue.ts";

type SearchServices = Pick<Runtime, "db" | "logger" | "config">;

export type SearchMode = "semantic" | "lexical";

/** `GET /v1/cards/search` query, answer and one hit, as the spec types them (searchCards). */
type SearchCards = operations["searchCards"];
export type SearchQuery = SearchCards["parameters"]["query"];
type SearchAnswer = SearchCards["responses"][200]["content"]["application/json"];
/** The mode is always set here (the spec leaves it optional for older servers): the handler also sends it as X-Search-Mode. */
export type SearchResult = SearchAnswer & { mode: NonNullable<SearchAnswer["mode"]> };
export type SearchHit = SearchAnswer["items"][number];

export const SEARCH_DEFAULT_LIMIT = 20;
/** Cosine similarity below which a card is not a result unless the caller asks (min_similarity). */
export const SEMANTIC_DEFAULT_MIN = 0.25;
/** Lexical score below which a card is not a result: a near-spelling (pg_trgm word similarity ≥ 0.5) or any full-text match passes. */
export const LEXICAL_DEFAULT_MIN = 0.5;

interface Row {
  id: string;
  card_type: string;
  name: string;
  description: string | null;
  preview_url: string | null;
  thumb_url: string | null;
  workspace_id: string | null;
  created_at: Date;
  similarity: number;
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
    global: row.workspace_id === null,
    created_at: new Date(row.created_at).toISOString(),
  };
}

function byRank(a: Row, b: Row): number {
  return Number(b.similarity) - Number(a.similarity) || new Date(b.created_at).getTime() - new Date(a.created_at).getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const extensionCache = new WeakMap<object, Promise<Set<string>>>();
function extensions(db: Runtime["db"]): Promise<Set<string>> {
  let known = extensionCache.get(db);
  if (!known) {
    known = db.prisma.$queryRaw<Array<{ extname: string }>>`SELECT extname::text AS extname FROM pg_extension`.then((rows) => new Set(rows.map((r) => r.extname)));
    extensionCache.set(db, known);
  }
  return known;
}

export async function searchCards(services: SearchServices, workspaceId: string, query: SearchQuery): Promise<SearchResult> {
  const limit = query.limit ?? SEARCH_DEFAULT_LIMIT;
  const cardType = query.card_type !== undefined ? parseCardType(query.card_type, "query.card_type") : undefined;
  const text = query.q.trim();
  const words = tokenize(text);
  if (words.length === 0) {
    throw ApiError.badRequest("invalid_request", "Request validation failed: query.q has no searchable words", { fields: [{ field: "query.q", message: "must contain at least one letter or digit" }] });
  }
  const filter = { workspaceId, cardType, limit };
  const embedder = cardEmbedderOf(services);
  const requireSemantic = services.config.SEARCH_REQUIRE_SEMANTIC;
  if (!embedder) {
    if (requireSemantic) throw searchUnavailable("Semantic search is unavailable: no embedding model is configured");
  } else {
    let embedded: { vector: number[]; tokens: number | null } | null = null;
    try {
      const { vectors, tokens } = await embedder.embed([text], "query");
      embedded = { vector: vectors[0]!, tokens };
    } catch (err) {
      services.logger.warn({ err: (err as Error).message, embedder: embedder.id }, requireSemantic ? "query embedding failed" : "query embedding failed; answering with lexical search");
      if (requireSemantic) throw err instanceof ApiError ? err : searchUnavailable();
    }
    if (embedded) {
      // The embedder just answered: embed this library's pending cards first (bounded), whatever their back-off.
      await embedCards(services, embedder, await pendingCards(services, embedder.id, { workspaceId, due: false, limit: SEARCH_BATCH }));
      const min = query.min_similarity ?? SEMANTIC_DEFAULT_MIN;
      const { rows, total } = await semantic(services, embedder, embedded.vector, min, filter);
      return { items: rows.map(toHit), total, mode: "semantic", query_tokens: embedded.tokens ?? words.length, query_doc_chars: text.length };
    }
  }
  const min = query.min_similarity ?? LEXICAL_DEFAULT_MIN;
  const { rows, total } = await lexical(services, text, min, filter);
  return { items: rows.map(toHit), total, mode: "lexical", query_tokens: words.length, query_doc_chars: text.length };
}

interface Filter {
  workspaceId: string;
  cardType: string | undefined;
  limit: number;
}

function scopeSql(f: Filter): Prisma.Sql {
  const type = f.cardType ? Prisma.sql`AND c.card_type = ${f.cardType}` : Prisma.empty;
  return Prisma.sql`(c.workspace_id = ${f.workspaceId}::uuid OR c.workspace_id IS NULL) AND c.deleted_at IS NULL ${type}`;
}

/** Half a unit of the 6th decimal of slack: a score shown as 1 passes min_similarity=1. */
const SLACK = 5e-7;

async function semantic(services: SearchServices, embedder: CardEmbedder, q: number[], min: number, f: Filter): Promise<{ rows: Row[]; total: number }> {
  const d = Prisma.raw(String(q.length));
  const where = Prisma.sql`${scopeSql(f)} AND c.embedding_model = ${embedder.id} AND cardinality(c.embedding) = ${d}`;
  const floor = min - SLACK;
  if ((await hasPgvector(services.db)) && q.length <= 2000) {
    const qv = `[${q.join(",")}]`;
    const distance = Prisma.sql`(c.embedding::vector(${d}) <=> ${qv}::vector(${d}))`;
    return services.db.prisma.$transaction(async (tx) => {
      // pgvector ≥ 0.8: an HNSW scan keeps going until LIMIT rows pass the filters (workspace, type, threshold).
      await tx.$executeRawUnsafe("SET LOCAL hnsw.iterative_scan = strict_order");
      const rows = await tx.$queryRaw<Row[]>`
        SELECT c.id, c.card_type, c.name, c.description, c.preview_url, c.thumb_url, c.workspace_id, c.created_at, 1 - ${distance} AS similarity
        FROM cards c WHERE ${where} AND 1 - ${distance} >= ${floor}::float8
        ORDER BY ${distance} LIMIT ${f.limit}`;
      const [count] = await tx.$queryRaw<Array<{ n: bigint | number }>>`
        SELECT count(*) AS n FROM cards c WHERE ${where} AND 1 - ${distance} >= ${floor}::float8`;
      return { rows: rows.sort(byRank), total: Number(count?.n ?? 0) };
    });
  }
  const similarity = Prisma.sql`(SELECT sum(a::float8 * b::float8) FROM unnest(c.embedding, ${realArray(q)}::real[]) AS t(a, b))`;
  const rows = await services.db.prisma.$queryRaw<Array<Row & { total: bigint | number }>>`
    WITH scored AS (
      SELECT c.id, c.card_type, c.name, c.description, c.preview_url, c.thumb_url, c.workspace_id, c.created_at, ${similarity} AS similarity
      FROM cards c WHERE ${where}
    )
    SELECT *, count(*) OVER () AS total FROM scored WHERE similarity >= ${floor}::float8
    ORDER BY similarity DESC, created_at DESC, id LIMIT ${f.limit}`;
  return { rows, total: rows.length ? Number(rows[0]!.total) : 0 };
}

async function lexical(services: SearchServices, text: string, min: number, f: Filter): Promise<{ rows: Row[]; total: number }> {
  const trgm = (await extensions(services.db)).has("pg_trgm");
  // Name weighs most, then description, then the attributes' top-level values.
  const tsv = Prisma.sql`(setweight(to_tsvector('english', aeriox_unaccent(c.name)), 'A')
      || setweight(to_tsvector('english', aeriox_unaccent(coalesce(c.description, ''))), 'B')
      || setweight(to_tsvector('english', aeriox_unaccent(coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(CASE WHEN jsonb_typeof(c.attributes) = 'object' THEN c.attributes ELSE '{}'::jsonb END)), ''))), 'C'))`;
  const tsq = Prisma.sql`websearch_to_tsquery('english', aeriox_unaccent(${text}))`;
  // A full-text match scores 0.5 and up with its rank (cover density, length-normalised).
  const fts = Prisma.sql`CASE WHEN ${tsv} @@ ${tsq} THEN 0.5 + 0.5 * (ts_rank_cd(${tsv}, ${tsq}, 32) / (ts_rank_cd(${tsv}, ${tsq}, 32) + 0.05)) ELSE 0 END`;
  const typo = trgm ? Prisma.sql`word_similarity(lower(aeriox_unaccent(${text})), lower(aeriox_unaccent(c.name || ' ' || coalesce(c.description, ''))))` : Prisma.sql`0`;
  const rows = await services.db.prisma.$queryRaw<Array<Row & { total: bigint | number }>>`
    WITH scored AS (
      SELECT c.id, c.card_type, c.name, c.description, c.preview_url, c.thumb_url, c.workspace_id, c.created_at,
             greatest((${fts})::float8, (${typo})::float8) AS similarity
      FROM cards c WHERE ${scopeSql(f)}
    )
    SELECT *, count(*) OVER () AS total FROM scored WHERE similarity >= ${min - SLACK}::float8 AND similarity > 0
    ORDER BY similarity DESC, created_at DESC, id LIMIT ${f.limit}`;
  return { rows, total: rows.length ? Number(rows[0]!.total) : 0 };
}
