import { afterEach, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import path from "node:path";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { migrate, readMigrations, MIGRATIONS_DIR, MigrationError } from "../../src/db/migrate.ts";
import { openDatabase } from "../../src/db/index.ts";
import { backends } from "./backends.ts";

describe("migrations folder", () => {
  it("is found next to the module, whatever the working directory", () => {
    expect(path.isAbsolute(MIGRATIONS_DIR)).toBe(true);
    expect(existsSync(path.join(MIGRATIONS_DIR, "migration_lock.toml"))).toBe(true);
    const files = readMigrations();
    expect(files.length).toBeGreaterThan(0);
    expect(files.map((f) => f.name)).toEqual([...files.map((f) => f.name)].sort());
    for (const f of files) expect(f.checksum).toMatch(/^[0-9a-f]{64}$/);
  });
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`migrate on ${backend.name}`, () => {
    let db: TestDatabase | undefined;
    afterEach(async () => {
      await db?.dispose();
      db = undefined;
    });

    it("applies every migration to a fresh database, records it the way Prisma does, and is a no-op when re-run", async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl, migrate: false });
      const started = performance.now();
      const first = await migrate(db);
      const ms = performance.now() - started;
      console.log(`[${backend.name}] migrate (fresh): ${ms.toFixed(0)} ms`);
      expect(first.applied).toEqual(readMigrations().map((f) => f.name));

      const rows = await db.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(`SELECT * FROM "_prisma_migrations" ORDER BY started_at`);
      expect(rows).toHaveLength(first.applied.length);
      for (const [i, file] of readMigrations().entries()) {
        const row = rows[i]!;
        expect(row.migration_name).toBe(file.name);
        expect(row.checksum).toBe(file.checksum);
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.rolled_back_at).toBeNull();
        expect(row.logs).toBeNull();
        expect(row.applied_steps_count).toBe(1);
        expect(String(row.id)).toMatch(/^[0-9a-f-]{36}$/);
      }
      const columns = await db.prisma.$queryRawUnsafe<Array<{ column_name: string; data_type: string }>>(
        `SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_name = '_prisma_migrations' ORDER BY ordinal_position`,
      );
      expect(columns.map((c) => c.column_name)).toEqual(["id", "checksum", "finished_at", "migration_name", "logs", "rolled_back_at", "started_at", "applied_steps_count"]);

      expect(await migrate(db)).toEqual({ applied: [] });
      const after = await db.prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM "_prisma_migrations"`);
      expect(after).toHaveLength(rows.length);
    });

    it("creates the wallet CHECK constraints", async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
      const ws = await db.prisma.workspace.create({ data: { name: "checks" } });
      await db.prisma.wallet.create({ data: { workspaceId: ws.id, balanceMicros: 10n } });
      await expect(db.prisma.wallet.update({ where: { workspaceId: ws.id }, data: { reservedMicros: 11n } })).rejects.toThrow(/wallets_reserved_within_balance|check/i);
      await expect(db.prisma.wallet.update({ where: { workspaceId: ws.id }, data: { reservedMicros: -1n } })).rejects.toThrow(/wallets_reserved_nonnegative|check/i);
    });

    it("refuses an applied migration whose file changed (checksum mismatch)", async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
      const name = readMigrations()[0]!.name;
      await db.prisma.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET checksum = $1 WHERE migration_name = $2`, "0".repeat(64), name);
      const err = await migrate(db).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MigrationError);
      expect((err as Error).message).toContain(`Migration ${name} was modified after it was applied`);
    });

    it("refuses to continue after a failed migration", async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
      await db.prisma.$executeRawUnsafe(`UPDATE "_prisma_migrations" SET finished_at = NULL`);
      await expect(migrate(db)).rejects.toThrow(/failed earlier/);
    });
  });
}

describe.skipIf(!process.env.DATABASE_URL)("concurrent migrate runners on PostgreSQL (DATABASE_URL)", () => {
  it("five processes starting at once: one applies, the others find nothing pending", async () => {
    const db = await createTestDatabase({ databaseUrl: process.env.DATABASE_URL, migrate: false });
    // Separate clients (pools) stand in for separate API processes.
    const url = (await db.prisma.$queryRawUnsafe<Array<{ d: string }>>(`SELECT current_database() AS d`))[0]!.d;
    const server = new URL(process.env.DATABASE_URL!);
    server.pathname = `/${url}`;
    const others = await Promise.all(Array.from({ length: 5 }, () => openDatabase({ url: server.toString(), kind: "postgres" })));
    try {
      const results = await Promise.all(others.map((o) => migrate(o)));
      const applied = results.flatMap((r) => r.applied);
      expect(applied).toEqual(readMigrations().map((f) => f.name));
      const rows = await db.prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM "_prisma_migrations"`);
      expect(rows).toHaveLength(readMigrations().length);
    } finally {
      await Promise.all(others.map((o) => o.close()));
      await db.dispose();
    }
  });
});
