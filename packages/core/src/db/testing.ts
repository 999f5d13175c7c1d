/**
 * A fresh, migrated database per test file: PGlite in memory, or — when DATABASE_URL
 * is set — a new PostgreSQL database with a random name on that server, dropped on
 * dispose(), so concurrent test runs never see each other's rows.
 *
 * Migrating costs seconds per database (PGlite: ~3 s, most of a test file's start), so a
 * migrated database is made once per set of migrations and cloned: PGlite from a tarball
 * of its data directory cached in the temp folder, PostgreSQL with `CREATE DATABASE …
 * TEMPLATE`. Both are keyed by the migrations' checksums, so a changed migration makes a
 * new template, and `migrate()` still runs on every clone (it finds nothing pending).
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { openDatabase, type Database } from "./index.ts";
import { migrate, readMigrations } from "./migrate.ts";

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
  const fromTemplate = options.migrate !== false;
  const db = serverUrl
    ? await createPostgresDatabase(serverUrl, fromTemplate)
    : await openDatabase({ url: "memory://", ...(fromTemplate ? { from: await pgliteTemplate() } : {}) });
  const dispose = "dispose" in db ? (db as TestDatabase).dispose : () => db.close();
  try {
    if (options.migrate !== false) await migrate(db);
  } catch (err) {
    await dispose();
    throw err;
  }
  return Object.assign(db, { dispose });
}

/** Names the migrated template: the migrations' checksums (and the PGlite build, for its tarball). */
function templateKey(extra = ""): string {
  const hash = createHash("sha256").update(extra);
  for (const m of readMigrations()) hash.update(`${m.name}:${m.checksum}\n`);
  return hash.digest("hex").slice(0, 16);
}

let pgliteTemplateInProcess: Promise<Blob> | undefined;

/** A migrated PGlite data directory as a tarball, made once per migrations and PGlite build. */
function pgliteTemplate(): Promise<Blob> {
  pgliteTemplateInProcess ??= (async () => {
    // The resolved path names the installed PGlite version, whose data format the tarball is in.
    const pglitePath = createRequire(import.meta.url).resolve("@electric-sql/pglite");
    const file = path.join(tmpdir(), `aeriox-pglite-template-${templateKey(pglitePath)}.tar`);
    if (existsSync(file)) return new Blob([readFileSync(file)]);
    const db = await openDatabase({ url: "memory://" });
    try {
      await migrate(db);
      const tarball = await db.snapshot!();
      // Written aside and renamed: concurrent test files never read half a file.
      const partial = `${file}.${randomBytes(4).toString("hex")}`;
      writeFileSync(partial, Buffer.from(await tarball.arrayBuffer()));
      renameSync(partial, file);
      return tarball;
    } finally {
      await db.close();
    }
  })();
  return pgliteTemplateInProcess;
}

async function adminQuery<Row extends object = object>(serverUrl: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A migrated database on the server to clone from. Built under a private name and renamed
 * when complete, so a concurrent run either sees the finished template or builds its own
 * (the loser of the rename drops its copy).
 */
async function postgresTemplate(serverUrl: string): Promise<string> {
  const name = `aeriox_template_${templateKey()}`;
  const found = await adminQuery(serverUrl, "SELECT 1 FROM pg_database WHERE datname = $1", [name]);
  if (found.length > 0) return name;
  const building = `${name}_${randomBytes(4).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE "${building}"`);
  try {
    const db = await openDatabase({ url: databaseUrl(serverUrl, building), kind: "postgres" });
    try {
      await migrate(db);
    } finally {
      await db.close();
    }
    await adminQuery(serverUrl, `ALTER DATABASE "${building}" RENAME TO "${name}"`);
  } catch (err) {
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${building}" WITH (FORCE)`);
    const raced = await adminQuery(serverUrl, "SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (raced.length === 0) throw err;
  }
  return name;
}

async function createPostgresDatabase(serverUrl: string, fromTemplate: boolean): Promise<TestDatabase> {
  const name = `aeriox_test_${randomBytes(6).toString("hex")}`;
  const template = fromTemplate ? ` TEMPLATE "${await postgresTemplate(serverUrl)}"` : "";
  await adminQuery(serverUrl, `CREATE DATABASE "${name}"${template}`);
  const url = databaseUrl(serverUrl, name);
  const db = await openDatabase({ url, kind: "postgres" });
  return Object.assign(db, {
    url,
    async dispose() {
      await db.close();
      // FORCE (PostgreSQL 13+) ends connections a failed test may have left behind.
      await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  });
}
