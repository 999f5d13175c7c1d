/**
 * Every wallet function is ONE transaction. Given a Database or a PrismaClient it
 * opens its own; given a transaction client (`tx` inside `$transaction`) it joins the
 * caller's, so e.g. the jobs engine creates the job row and reserves in one commit.
 * (Prisma 7's transaction client has `$transaction` too: it opens a SAVEPOINT in the
 * caller's transaction, so a wallet step that fails rolls back only its own writes
 * and the caller decides whether to go on; nothing commits before the caller does.)
 */
import type { Database, DbClient, PrismaClient, RawParam, TransactionClient } from "../db/index.ts";

export type WalletDb = Database | DbClient;

function isDatabase(db: WalletDb): db is Database {
  return typeof (db as Database).close === "function" && "kind" in db && "prisma" in db;
}

/** Prisma 7's transaction client also has `$transaction` (nested savepoints), but never `$connect`. */
function isPrismaClient(client: DbClient): client is PrismaClient {
  return typeof (client as PrismaClient).$connect === "function";
}

export async function inTransaction<T>(db: WalletDb, fn: (tx: TransactionClient) => Promise<T>): Promise<T> {
  const client = isDatabase(db) ? db.prisma : db;
  if (isPrismaClient(client)) return client.$transaction(fn);
  return fn(client);
}

/**
 * ONE statement, parameters bound ($1, $2, …): given a Database, on its raw driver (the hot
 * path: ARCHITECTURE.md, Money, "Hot path"); given a client or a transaction, through it,
 * so it joins the caller's transaction. A single statement is atomic either way.
 */
export async function runStatement<Row extends object>(db: WalletDb, sql: string, params: readonly RawParam[]): Promise<Row[]> {
  if (isDatabase(db)) return db.query<Row>(sql, params);
  return db.$queryRawUnsafe<Row[]>(sql, ...params);
}

/** For reads that need no transaction. */
export function queryClient(db: WalletDb): DbClient {
  return isDatabase(db) ? db.prisma : db;
}
