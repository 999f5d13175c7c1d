/**
 * A fresh, migrated database per test file: PGlite in memory, or — when DATABASE_URL
 * is set — a new PostgreSQL database with a random name on that server, dropped on
 * dispose(), so concurrent test runs never see each other's rows.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { openDatabase, type Database } from "./index.ts";
import { migrate } from "./migrate.ts";

/** `url` is set for PostgreSQL test databases, so other processes (spawned workers, the CLI) can open them too. */
export type TestDatabase = Database & { dispose(): Promise<void>; url?: string };

export interface TestDatabaseOptions {
  /** Server to create the database on; default process.env.DATABASE_URL. Pass undefined for PGlite. */
  databaseUrl?: string | undefined;
  /** Apply the migrations (default true). */
  migrate?: boolean;
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = "databaseUrl" in options ? options.databaseUrl : process.env.DATABASE_URL;
  const db = serverUrl ? await createPostgresDatabase(serverUrl) : await openDatabase({ url: "memory://" });
  const dispose = "dispose" in db ? (db as TestDatabase).dispose : () => db.close();
  try {
    if (options.migrate !== false) await migrate(db);
  } catch (err) {
    await dispose();
    throw err;
  }
  return Object.assign(db, { dispose });
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function createPostgresDatabase(serverUrl: string): Promise<TestDatabase> {
  const name = `aeriox_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const db = await openDatabase({ url: url.toString(), kind: "postgres" });
  return Object.assign(db, {
    url: url.toString(),
    async dispose() {
      await db.close();
      // FORCE (PostgreSQL 13+) ends connections a failed test may have left behind.
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  });
}
