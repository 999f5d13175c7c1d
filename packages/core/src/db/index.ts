/**
 * Opens the database: PGlite (embedded PostgreSQL in WebAssembly) in `<dataDir>/pgdata`
 * by default, or a PostgreSQL server when DATABASE_URL is set. Both are reached through
 * the same generated Prisma client via a driver adapter, so domain code never knows which.
 */
import path from "node:path";
import { mkdirSync } from "node:fs";
import { PGlite, parse as pgliteParse, protocol as pgliteProtocol } from "@electric-sql/pglite";
import { createHash } from "node:crypto";
// Extensions the card search uses (migration 20261201400000_cards_search creates them where
// available): pgvector (its PGlite build is a separate package since PGlite 0.5), pg_trgm, unaccent.
import { vector } from "@electric-sql/pglite-pgvector";
import { pg_trgm } from "@electric-sql/pglite/contrib/pg_trgm";
import { unaccent } from "@electric-sql/pglite/contrib/unaccent";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import type { Config } from "../config.ts";
import { PrismaClient, Prisma } from "./generated/client.ts";

// Model types (Workspace, ApiKey, Job, ...), enums, `Prisma` and `PrismaClient`.
export * from "./generated/client.ts";

/** What a transaction callback receives: every model delegate, no `$transaction`. */
export type TransactionClient = Prisma.TransactionClient;
/** Domain functions that can run standalone or inside a caller's transaction take this. */
export type DbClient = PrismaClient | TransactionClient;

/** A parameter of `Database.query`: always bound ($1, $2, …), never interpolated into the SQL. */
export type RawParam = string | number | bigint | boolean | Date | null;

export interface Database {
  prisma: PrismaClient;
  kind: "pglite" | "postgres";
  /**
   * ONE statement on the raw driver, outside Prisma: PGlite's own `query`, or the `pg.Pool`
   * that Prisma's adapter also uses. Only for the hot statements (ARCHITECTURE.md, Money,
   * "Hot path"): through the driver adapter a statement costs several times more. It runs
   * in its own implicit transaction — never call it inside a Prisma transaction callback
   * (on PGlite it would wait for that very transaction). int8 comes back as `bigint`,
   * timestamps as `Date`, on both deployments.
   */
  query<Row extends object>(sql: string, params: readonly RawParam[], options?: QueryOptions): Promise<Row[]>;
  /**
   * PGlite only: the whole data directory as a tarball, which `openDatabase({ url: "memory://",
   * from })` opens again (tests clone one migrated database instead of migrating each).
   */
  snapshot?(): Promise<Blob>;
  close(): Promise<void>;
}

export interface QueryOptions {
  /**
   * A named prepared statement, parsed once per connection and then only bound and executed:
   * PostgreSQL keeps its plan. For the hot reads (`GET /v1/jobs/{id}`, keys, `/v1/me`), where
   * parsing and planning (on PGlite also a protocol round trip per step) cost more than running.
   * Only for constant SQL texts: each text stays prepared (and named) for the process's life.
   */
  prepared?: boolean;
}

export type OpenDatabaseOptions =
  | Pick<Config, "databaseKind" | "DATABASE_URL" | "dataDir">
  | { url: "memory://"; from?: Blob }
  | { url: string; kind: "postgres" };

/**
 * Interactive transactions queue up: PGlite has one connection (its own mutex runs
 * transactions one after another) and a PostgreSQL pool has a few. Prisma's default
 * `maxWait` of 2 s to *start* a transaction would fail callers that merely wait their
 * turn under load, so it is raised; `timeout` bounds how long one transaction may run.
 */
const TRANSACTION_OPTIONS = { maxWait: 60_000, timeout: 30_000 } as const;

/** Connections per API/worker process (several processes share one server). */
const POSTGRES_POOL_SIZE = 10;

export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  if ("url" in options) {
    if (options.url === "memory://") return openPglite(undefined, "from" in options ? options.from : undefined);
    return openPostgres(options.url);
  }
  if (options.databaseKind === "postgres") {
    if (!options.DATABASE_URL) throw new Error("databaseKind is 'postgres' but DATABASE_URL is not set");
    return openPostgres(options.DATABASE_URL);
  }
  const dir = path.join(options.dataDir, "pgdata");
  mkdirSync(dir, { recursive: true });
  return openPglite(dir);
}

async function openPglite(dataDir: string | undefined, from?: Blob): Promise<Database> {
  // PGlite's own mutex serialises transactions and makes a top-level query wait for an
  // open transaction to finish (it never slips into someone else's transaction). The
  // one way to deadlock is to call `db.prisma` (not `tx`) inside a transaction
  // callback: that query waits for the transaction that waits for it, until `timeout`.
  const extensions = { vector, pg_trgm, unaccent };
  const pglite = dataDir ? new PGlite(dataDir, { extensions }) : new PGlite({ extensions, ...(from ? { loadDataDir: from } : {}) });
  await pglite.waitReady;
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite), transactionOptions: TRANSACTION_OPTIONS });
  const preparedOnPglite: PreparedState = { names: new Set() };
  return {
    prisma,
    kind: "pglite",
    async query<Row extends object>(sql: string, params: readonly RawParam[], options?: QueryOptions) {
      if (options?.prepared) return preparedPgliteQuery<Row>(pglite, preparedOnPglite, sql, params);
      const result = await pglite.query<Row>(sql, params.map(bindable), { parsers: PGLITE_PARSERS });
      return result.rows;
    },
    snapshot: () => pglite.dumpDataDir("none"),
    async close() {
      await prisma.$disconnect();
      if (!pglite.closed) await pglite.close();
    },
  };
}

async function openPostgres(url: string): Promise<Database> {
  // One pool for Prisma and the raw hot statements: no extra connections per process.
  const pool = new pg.Pool({ connectionString: url, max: POSTGRES_POOL_SIZE });
  // An idle connection the server ends (restart, failover, pg_terminate_backend, a proxy's
  // idle timeout) is emitted here; without a listener that is an uncaught exception and the
  // process dies. pg has already dropped the client: the next query opens a fresh one, or
  // fails and is answered 503 database_unavailable (db/unavailable.ts).
  pool.on("error", () => undefined);
  const adapter = new PrismaPg(pool, { disposeExternalPool: false });
  const prisma = new PrismaClient({ adapter, transactionOptions: TRANSACTION_OPTIONS });
  await prisma.$connect();
  return {
    prisma,
    kind: "postgres",
    async query<Row extends object>(sql: string, params: readonly RawParam[], options?: QueryOptions) {
      // Per-query parsers (as Prisma's adapter does): pg's global type registry stays untouched.
      // A `name` makes pg prepare the statement once per connection and reuse it.
      const result = await pool.query({ text: sql, values: params.map(bindable), types: PG_TYPES, ...(options?.prepared ? { name: statementName(sql) } : {}) });
      return result.rows as Row[];
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

const INT8_OID = 20;
const PGLITE_PARSERS = { [INT8_OID]: (value: string) => BigInt(value) };
const PG_TYPES = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => BigInt(value) : pg.types.getTypeParser(oid, format ?? "text")) as typeof pg.types.getTypeParser,
};

const statementNames = new Map<string, string>();

/**
 * A statement's name: derived from its text, so one name never means two statements. Prepared
 * statements are the hot ones (a poll, a key lookup) and their texts are constants: the name is
 * hashed once per text, not on every call.
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `aeriox_${createHash("sha256").update(sql).digest("hex").slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  return name;
}

const { serialize } = pgliteProtocol;

/** Per PGlite instance: the statements it has prepared, and its row parsers with ours. */
interface PreparedState {
  names: Set<string>;
  parsers?: Record<number, (value: string, typeId?: number) => unknown>;
}

/**
 * A named statement on PGlite: Parse (first time only), Bind, Describe, Execute and Sync in ONE
 * call into PGlite, where `pglite.query` makes six (parse, describe, bind, describe, execute,
 * sync) and PostgreSQL parses and plans the text every time. The same mutexes as `query` (a
 * transaction in progress is waited for, never joined); the same parsers for the rows.
 */
async function preparedPgliteQuery<Row extends object>(pglite: PGlite, state: PreparedState, sql: string, params: readonly RawParam[]): Promise<Row[]> {
  const name = statementName(sql);
  const internal = pglite as unknown as { _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>; _runExclusiveQuery<T>(fn: () => Promise<T>): Promise<T>; parsers: Record<number, (value: string, typeId?: number) => unknown> };
  await pglite.waitReady;
  return internal._runExclusiveTransaction(() =>
    internal._runExclusiveQuery(async () => {
      const parts: Uint8Array[] = [];
      const parsing = !state.names.has(name);
      // Close first (no error when there is none): a Parse that succeeded in a call that then failed left the name taken.
      if (parsing) parts.push(serialize.close({ type: "S", name }), serialize.parse({ name, text: sql }));
      parts.push(serialize.bind({ statement: name, values: params.map(textParam) }), serialize.describe({ type: "P" }), serialize.execute({}), serialize.sync());
      // No file-system sync afterwards: ours are PGlite's NodeFS (a data folder, written through to
      // the disk) or its in-memory one, where that sync does nothing but queue on a mutex.
      const { messages } = await pglite.execProtocol(concatBytes(parts), { syncToFs: false });
      if (parsing) state.names.add(name);
      // The merged parsers once per instance (passed as an option, parseResults copies the whole map on
      // every call). Hot statements return built-in types only, whose parsers are there from the start.
      state.parsers ??= { ...internal.parsers, ...PGLITE_PARSERS };
      const [result] = pgliteParse.parseResults(messages, state.parsers);
      return (result?.rows ?? []) as Row[];
    }),
  );
}

/** A parameter in PostgreSQL's text format (the statement's casts say what it is). */
function textParam(value: RawParam): string | null {
  if (value === null) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "boolean") return value ? "t" : "f";
  return String(value);
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** bigint goes over the wire as its decimal text (SQL casts it, e.g. `$1::bigint`). */
function bindable(value: RawParam): Exclude<RawParam, bigint> {
  return typeof value === "bigint" ? value.toString() : value;
}

// The rest of the public surface (`@aeriox/core/db`).
export { migrate } from "./migrate.ts";
export * from "./unavailable.ts";
