/**
 * Write-time embeddings that survive an embedder outage. A card is stored whether or not
 * its vector could be computed (authoring never waits on the embedding service); a card
 * whose `embedding_model` is not the current embedder's is pending, and is embedded:
 *
 * - at create, once (cards.ts), within EMBEDDINGS_TIMEOUT_MS;
 * - by the background backfill of the server process (`startEmbeddingBackfill`): every
 *   BACKFILL_INTERVAL_MS it embeds up to BATCH pending cards whose `embedding_retry_at` has
 *   come. A failed attempt counts in `embedding_attempts` and pushes `embedding_retry_at`
 *   back exponentially (RETRY_BASE_MS doubling, at most RETRY_MAX_MS), so a dead embedder
 *   costs one request per interval, not one per card;
 * - by a search (search.ts) that has just embedded its query — proof the embedder is up —
 *   for up to SEARCH_BATCH of the searched cards, whatever their back-off.
 *
 * A change of model (VOYAGE_MODEL, EMBEDDINGS_MODEL) makes every card pending, so the
 * library is re-embedded in the background, BATCH cards per interval. Several processes may
 * embed the same card at once; the writes are idempotent (same model, same text → same vector),
 * and a write applies only while the card's text is the one that was embedded.
 */
import type { Runtime } from "../runtime.ts";
import { Prisma } from "../db/index.ts";
import { cardDocument, cardEmbedderOf, type CardEmbedder } from "./embedding.ts";

type Services = Pick<Runtime, "db" | "logger" | "config">;

export const BATCH = 32;
export const SEARCH_BATCH = 32;
export const BACKFILL_INTERVAL_MS = 5_000;
const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 3_600_000;

interface PendingRow {
  id: string;
  name: string;
  description: string | null;
  attributes: unknown;
}

/** pgvector's `vector` type exists in this database (PGlite ships it; PostgreSQL here may not). */
const vectorSupport = new WeakMap<object, Promise<boolean>>();
export function hasPgvector(db: Runtime["db"]): Promise<boolean> {
  let known = vectorSupport.get(db);
  if (!known) {
    known = db.prisma
      .$queryRaw<Array<{ ok: boolean }>>`SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS ok`
      .then((rows) => Boolean(rows[0]?.ok));
    vectorSupport.set(db, known);
  }
  return known;
}

const indexed = new WeakMap<object, Set<number>>();
/**
 * An HNSW index (cosine) on the vectors of one dimension, where pgvector exists. The
 * dimension is the model's, known at the first vector, so the index is created then, by
 * code (partial: `cardinality(embedding) = d`, the expression search.ts ranks by). Outside
 * schema.prisma on purpose: see test/db/drift.test.ts.
 */
export async function ensureVectorIndex(db: Runtime["db"], dimensions: number): Promise<void> {
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 2000) return; // HNSW indexes at most 2,000 dimensions.
  const done = indexed.get(db) ?? new Set<number>();
  indexed.set(db, done);
  if (done.has(dimensions) || !(await hasPgvector(db))) return;
  await db.prisma.$executeRawUnsafe(
    `CREATE INDEX IF NOT EXISTS "cards_embedding_hnsw_${dimensions}" ON "cards" USING hnsw ((embedding::vector(${dimensions})) vector_cosine_ops) WHERE cardinality(embedding) = ${dimensions}`,
  );
  done.add(dimensions);
}

/** A real[] as its text form: bound as one string parameter, the same through both driver adapters. */
export function realArray(vector: number[]): string {
  return `{${vector.map((v) => (Number.isFinite(v) ? String(v) : "0")).join(",")}}`;
}

/** Stores vectors for cards whose text is still what was embedded; clears their back-off. */
async function store(services: Services, embedder: CardEmbedder, cards: PendingRow[], vectors: number[][]): Promise<number> {
  let stored = 0;
  for (const [i, card] of cards.entries()) {
    stored += await services.db.prisma.$executeRaw`
      UPDATE cards SET embedding = ${realArray(vectors[i]!)}::real[], embedding_model = ${embedder.id}, embedding_attempts = 0, embedding_retry_at = NULL
      WHERE id = ${card.id}::uuid AND name = ${card.name} AND description IS NOT DISTINCT FROM ${card.description}
        AND attributes = ${JSON.stringify(card.attributes ?? {})}::jsonb`;
  }
  if (vectors[0]) await ensureVectorIndex(services.db, vectors[0].length);
  return stored;
}

/** Embeds `cards` in one request; on failure records the attempt and the back-off. Returns how many were stored. */
export async function embedCards(services: Services, embedder: CardEmbedder, cards: PendingRow[]): Promise<number> {
  if (cards.length === 0) return 0;
  try {
    const { vectors } = await embedder.embed(cards.map(cardDocument), "document");
    return await store(services, embedder, cards, vectors);
  } catch (err) {
    const ids = cards.map((c) => c.id);
    await services.db.prisma.$executeRaw`
      UPDATE cards SET embedding_attempts = embedding_attempts + 1,
             embedding_retry_at = now() + make_interval(secs => least(${RETRY_MAX_MS}::float8, ${RETRY_BASE_MS}::float8 * power(2, least(embedding_attempts, 20))) / 1000)
      WHERE id = ANY(string_to_array(${ids.join(",")}, ',')::uuid[])`;
    services.logger.warn({ err: (err as Error).message, cards: ids.length, embedder: embedder.id }, "card embedding failed; retried later");
    return 0;
  }
}

/**
 * Pending live cards (of `workspaceId` and the global ones, or every card when null), oldest
 * first; `due` keeps only those whose back-off has passed.
 */
export async function pendingCards(services: Pick<Runtime, "db">, embedderId: string, options: { workspaceId: string | null; due: boolean; limit: number }): Promise<PendingRow[]> {
  const scope = options.workspaceId ? Prisma.sql`AND (workspace_id = ${options.workspaceId}::uuid OR workspace_id IS NULL)` : Prisma.empty;
  const due = options.due ? Prisma.sql`AND (embedding_retry_at IS NULL OR embedding_retry_at <= now())` : Prisma.empty;
  return services.db.prisma.$queryRaw<PendingRow[]>`
    SELECT id, name, description, attributes FROM cards
    WHERE deleted_at IS NULL AND embedding_model IS DISTINCT FROM ${embedderId} ${scope} ${due}
    ORDER BY created_at, id LIMIT ${options.limit}`;
}

/** One pass of the background backfill: at most BATCH due cards. Returns how many were embedded. */
export async function backfillOnce(services: Services): Promise<number> {
  const embedder = cardEmbedderOf(services);
  if (!embedder) return 0;
  const cards = await pendingCards(services, embedder.id, { workspaceId: null, due: true, limit: BATCH });
  return embedCards(services, embedder, cards);
}

export interface EmbeddingBackfill {
  /** Runs a pass now (tests, and right after a create whose embedding failed). */
  kick(): void;
  stop(): Promise<void>;
}

/** The server's background backfill; nothing runs when no embedder is configured. */
export function startEmbeddingBackfill(services: Services, intervalMs = BACKFILL_INTERVAL_MS): EmbeddingBackfill {
  let running: Promise<void> | null = null;
  let stopped = false;
  const pass = () => {
    if (stopped || running || !cardEmbedderOf(services)) return;
    running = (async () => {
      try {
        // A full batch means more may be waiting: go on at once, up to 10 batches a pass.
        for (let i = 0; i < 10 && !stopped; i++) if ((await backfillOnce(services)) < BATCH) break;
      } catch (err) {
        if (!stopped) services.logger.warn({ err: (err as Error).message }, "card embedding backfill failed");
      } finally {
        running = null;
      }
    })();
  };
  const timer = setInterval(pass, intervalMs);
  timer.unref();
  return {
    kick: pass,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

const backfills = new WeakMap<object, EmbeddingBackfill>();
export function registerBackfill(runtime: object, backfill: EmbeddingBackfill): void {
  backfills.set(runtime, backfill);
}
export function backfillOf(runtime: object): EmbeddingBackfill | undefined {
  return backfills.get(runtime);
}
