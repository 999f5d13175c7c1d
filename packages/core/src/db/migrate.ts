/**
 * Applies the SQL migrations in `prisma/migrations/<name>/migration.sql` (Prisma's own
 * layout), recording each in `_prisma_migrations` exactly as `prisma migrate deploy`
 * does, so Prisma's CLI agrees with us wherever its native schema engine exists.
 * (It cannot be installed here, which is why this runner exists.)
 *
 * - Each pending migration runs in its own transaction with its bookkeeping row.
 * - Concurrent runners (several API processes starting at once) are serialised with
 *   `pg_advisory_xact_lock` on the key Prisma itself uses, so ours and Prisma's also
 *   exclude each other; the winner applies, the others then find nothing pending.
 * - An applied migration whose file changed (checksum mismatch) stops start-up with a
 *   clear error, as does a migration that failed earlier (recorded but not finished).
 */
import { createHash, randomUUID } from "node:crypto";
import { readdirSync, readFileSync, existsSync } from "node:fs";
import path from "node:path";
import type { Database, TransactionClient } from "./index.ts";
import { splitSqlStatements } from "./sql-script.ts";
import { resourcePath } from "../resources.ts";

/** Found relative to this module, never the working directory. */
export const MIGRATIONS_DIR = resourcePath("packages/core/prisma/migrations/", new URL("../../prisma/migrations/", import.meta.url));

/** The advisory lock key of Prisma's migrate engine ("72707369"). */
const PRISMA_MIGRATE_LOCK_KEY = 72707369;

/** Prisma's own DDL for its bookkeeping table (migration-connector, PostgreSQL). */
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;

/** A migration may wait for another process's lock and run long DDL. */
const MIGRATION_TRANSACTION = { maxWait: 600_000, timeout: 600_000 } as const;

export interface MigrationFile {
  name: string;
  sql: string;
  /** sha256 hex of the file's bytes, as Prisma computes it. */
  checksum: string;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MigrationError";
  }
}

export function readMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(dir, entry.name, "migration.sql")))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const bytes = readFileSync(path.join(dir, name, "migration.sql"));
      return { name, sql: bytes.toString("utf8"), checksum: createHash("sha256").update(bytes).digest("hex") };
    });
}

interface AppliedRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

async function lockAndReadApplied(tx: TransactionClient): Promise<Map<string, AppliedRow>> {
  await tx.$executeRawUnsafe(`SELECT pg_advisory_xact_lock(${PRISMA_MIGRATE_LOCK_KEY})`);
  await tx.$executeRawUnsafe(CREATE_MIGRATIONS_TABLE);
  const rows = await tx.$queryRawUnsafe<AppliedRow[]>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at FROM "_prisma_migrations" WHERE rolled_back_at IS NULL ORDER BY started_at`,
  );
  return new Map(rows.map((row) => [row.migration_name, row]));
}

/** Throws on a failed or modified applied migration; returns whether `file` is already applied. */
function checkApplied(file: MigrationFile, row: AppliedRow | undefined): boolean {
  if (!row) return false;
  if (!row.finished_at) {
    throw new MigrationError(`Migration ${file.name} failed earlier and is recorded as unfinished in _prisma_migrations; fix the database by hand, then mark it rolled back (rolled_back_at) or finished`);
  }
  if (row.checksum !== file.checksum) {
    throw new MigrationError(`Migration ${file.name} was modified after it was applied (checksum in database ${row.checksum}, file ${file.checksum}); restore the original file and add a new migration instead`);
  }
  return true;
}

export async function migrate(db: Database, options: { migrationsDir?: string } = {}): Promise<{ applied: string[] }> {
  const files = readMigrations(options.migrationsDir);
  const applied: string[] = [];

  // Fast path and validation: every already-applied migration must be unchanged.
  const pending = await db.prisma.$transaction(async (tx) => {
    const rows = await lockAndReadApplied(tx);
    return files.filter((file) => !checkApplied(file, rows.get(file.name)));
  }, MIGRATION_TRANSACTION);

  for (const file of pending) {
    const didApply = await db.prisma.$transaction(async (tx) => {
      // Re-read under the lock: another process may have applied it meanwhile.
      const rows = await lockAndReadApplied(tx);
      if (checkApplied(file, rows.get(file.name))) return false;
      const id = randomUUID();
      await tx.$executeRawUnsafe(
        `INSERT INTO "_prisma_migrations" (id, checksum, migration_name, started_at, applied_steps_count) VALUES ($1, $2, $3, now(), 0)`,
        id,
        file.checksum,
        file.name,
      );
      for (const statement of splitSqlStatements(file.sql)) {
        try {
          await tx.$executeRawUnsafe(statement);
        } catch (err) {
          throw new MigrationError(`Migration ${file.name} failed at: ${statement.slice(0, 200)}\n${(err as Error).message}`);
        }
      }
      await tx.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET finished_at = clock_timestamp(), applied_steps_count = 1 WHERE id = $1`, id);
      return true;
    }, MIGRATION_TRANSACTION);
    if (didApply) applied.push(file.name);
  }
  return { applied };
}
