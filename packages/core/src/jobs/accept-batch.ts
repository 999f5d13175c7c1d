/**
 * Group accept: concurrent submits of one lane share one statement and one commit (the lane
 * mechanics are db/batcher.ts).
 *
 * Accepting locks the workspace's wallet row until the transaction commits (ARCHITECTURE.md,
 * Money, "Hot path"), so one workspace's submits run one after another, each paying a commit
 * (a WAL flush) while the others wait for the lock: about 1 / (round trip + flush) per second
 * however many connections there are; and many workspaces sending a few submits each pay a
 * commit each. Here, while a lane's statement is in flight, the submits that arrive for it
 * queue; when it returns, all of them (up to BATCH_LIMIT) go in the next statement, which
 * calls `aeriox_accept_job` once per submit inside one transaction, grouped by workspace and
 * each workspace's in arrival order (below). Every check still runs per submit against the
 * effects of the ones before it; each gets its own outcome row. A lone submit goes at once, as
 * before: nothing waits on a timer. The caller picks the lanes (submit.ts: a workspace always
 * in the same one, a few lanes per process).
 *
 * A statement of several workspaces locks their wallet rows one after another. So that two
 * such statements (of two processes: in one process a workspace is in one lane only) cannot
 * deadlock, a batch runs in `lockOrder` (submit.ts: by workspace id; stable, so one
 * workspace's submits keep their arrival order): every statement takes wallets in the same
 * order, and every other writer of wallets locks a single one.
 *
 * If a batched statement fails (a constraint, an exception in the function), nothing of it was
 * written (one transaction), and each of its submits is retried alone, so one bad submit fails
 * only itself.
 */
import type { RawParam } from "../db/index.ts";
import { createLaneBatcher, type LaneBatcher } from "../db/batcher.ts";

/** Most submits in one statement: bounds the lock hold time and the statement size. */
const BATCH_LIMIT = 64;

/**
 * `singleSql` takes the function's parameters as $1…$n and returns its row. The batched
 * statement passes the same parameters as one JSON array per submit and casts them back with
 * `casts` (one SQL type per parameter, e.g. `uuid`, `bigint`, `jsonb`).
 */
export function createAcceptBatcher<Row extends object>(options: {
  fn: string;
  casts: readonly string[];
  columns: readonly string[];
  singleSql: string;
  /** The row a submit locks first (its workspace): a batch runs sorted by it. */
  lockOrder: (params: readonly RawParam[]) => string;
}): LaneBatcher<readonly RawParam[], Row[]> {
  const args = options.casts.map((cast, i) => (cast === "text" ? `a.p->>${i}` : `(a.p->>${i})::${cast}`)).join(", ");
  const batchSql = `
    SELECT ${options.columns.map((c) => `r.${c}`).join(", ")}
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(p, ord)
      CROSS JOIN LATERAL ${options.fn}(${args}) AS r
     ORDER BY a.ord`;
  return createLaneBatcher<readonly RawParam[], Row[]>({
    limit: BATCH_LIMIT,
    one: (db, params) => db.query<Row>(options.singleSql, params),
    async many(db, batch) {
      const rows = await db.query<Row>(batchSql, [JSON.stringify(batch.map((params) => params.map(jsonParam)))]);
      return batch.map((_, i) => (rows[i] ? [rows[i]!] : []));
    },
    orderBy: options.lockOrder,
  });
}

/** A parameter as JSON text the SQL casts back: bigint and Date as strings, so nothing is rounded. */
function jsonParam(value: RawParam): string | number | boolean | null {
  if (value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value;
}
