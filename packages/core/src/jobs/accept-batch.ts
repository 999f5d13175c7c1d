/**
 * Group accept: concurrent submits of one lane share one statement and one commit.
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
import type { Database, RawParam } from "../db/index.ts";

/** Most submits in one statement: bounds the lock hold time and the statement size. */
const BATCH_LIMIT = 64;

interface Pending<Row> {
  params: readonly RawParam[];
  resolve(rows: Row[]): void;
  reject(err: unknown): void;
}

interface Lane<Row> {
  inFlight: boolean;
  pending: Array<Pending<Row>>;
}

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
}) {
  const args = options.casts.map((cast, i) => (cast === "text" ? `a.p->>${i}` : `(a.p->>${i})::${cast}`)).join(", ");
  const batchSql = `
    SELECT ${options.columns.map((c) => `r.${c}`).join(", ")}
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(p, ord)
      CROSS JOIN LATERAL ${options.fn}(${args}) AS r
     ORDER BY a.ord`;
  const lanes = new WeakMap<Database, Map<string, Lane<Row>>>();

  function laneOf(db: Database, key: string): Lane<Row> {
    let byKey = lanes.get(db);
    if (!byKey) lanes.set(db, (byKey = new Map()));
    let lane = byKey.get(key);
    if (!lane) byKey.set(key, (lane = { inFlight: false, pending: [] }));
    return lane;
  }

  async function runAlone(db: Database, item: Pending<Row>): Promise<void> {
    try {
      item.resolve(await db.query<Row>(options.singleSql, item.params));
    } catch (err) {
      item.reject(err);
    }
  }

  async function flush(db: Database, key: string, lane: Lane<Row>): Promise<void> {
    lane.inFlight = true;
    try {
      while (lane.pending.length > 0) {
        const batch = lane.pending.splice(0, BATCH_LIMIT).sort((a, b) => compare(options.lockOrder(a.params), options.lockOrder(b.params)));
        if (batch.length === 1) {
          await runAlone(db, batch[0]!);
          continue;
        }
        let rows: Row[];
        try {
          rows = await db.query<Row>(batchSql, [JSON.stringify(batch.map((item) => item.params.map(jsonParam)))]);
        } catch {
          for (const item of batch) await runAlone(db, item);
          continue;
        }
        batch.forEach((item, i) => item.resolve(rows[i] ? [rows[i]!] : []));
      }
    } finally {
      lane.inFlight = false;
      lanes.get(db)?.delete(key);
    }
  }

  return {
    /** Runs the function for one submit; `key` (the lane) decides who may share a statement. */
    run(db: Database, key: string, params: readonly RawParam[]): Promise<Row[]> {
      const lane = laneOf(db, key);
      const done = new Promise<Row[]>((resolve, reject) => lane.pending.push({ params, resolve, reject }));
      if (!lane.inFlight) void flush(db, key, lane);
      return done;
    },
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** A parameter as JSON text the SQL casts back: bigint and Date as strings, so nothing is rounded. */
function jsonParam(value: RawParam): string | number | boolean | null {
  if (value === null) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value;
}
