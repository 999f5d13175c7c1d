/** `Database.query`: the raw driver for hot statements answers alike on both deployments. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { openDatabase } from "../../src/db/index.ts";
import { backends } from "./backends.ts";

for (const backend of backends) {
  describe.skipIf(backend.skip)(`Database.query on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("returns int8 as bigint, int4 as number, timestamptz as Date, null as null — as Prisma's $queryRaw does", async () => {
      const sql = `SELECT $1::bigint AS big, 7::integer AS small, '2026-01-02T03:04:05.678Z'::timestamptz AS at, NULL::bigint AS nothing, $2::text AS word`;
      const [raw] = await db.query<Record<string, unknown>>(sql, [9_007_199_254_740_993n, "w"]);
      const [viaPrisma] = await db.prisma.$queryRawUnsafe<Array<Record<string, unknown>>>(sql, 9_007_199_254_740_993n, "w");
      expect(raw).toEqual({ big: 9_007_199_254_740_993n, small: 7, at: new Date("2026-01-02T03:04:05.678Z"), nothing: null, word: "w" });
      expect(raw).toEqual(viaPrisma);
    });

    it("binds parameters: SQL in a value stays a value", async () => {
      const hostile = "x'; DROP TABLE wallets; --";
      expect(await db.query<{ v: string }>(`SELECT $1::text AS v`, [hostile])).toEqual([{ v: hostile }]);
      expect(await db.prisma.wallet.count()).toBeGreaterThanOrEqual(0);
    });

    it("sees what Prisma committed, and Prisma sees what it wrote", async () => {
      const ws = await db.prisma.workspace.create({ data: { name: "raw" } });
      await db.query(`INSERT INTO wallets (workspace_id, balance_micros) VALUES ($1::uuid, $2::bigint)`, [ws.id, 5n]);
      expect((await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws.id } })).balanceMicros).toBe(5n);
      expect(await db.query(`SELECT name FROM workspaces WHERE id = $1::uuid`, [ws.id])).toEqual([{ name: "raw" }]);
    });

    it("a prepared statement answers as the unprepared one (types, arrays, no row), again after a failed call, and waits for a transaction", async () => {
      const sql = `SELECT $1::bigint AS big, $2::timestamptz AS at, ARRAY['a','b']::text[] AS list, $3::boolean AS yes, $4::text AS word WHERE $5::int > 0`;
      const params = [9_007_199_254_740_993n, new Date("2026-01-02T03:04:05.678Z"), true, null, 1] as const;
      const plain = await db.query(sql, params);
      expect(plain).toEqual([{ big: 9_007_199_254_740_993n, at: new Date("2026-01-02T03:04:05.678Z"), list: ["a", "b"], yes: true, word: null }]);
      expect(await db.query(sql, params, { prepared: true })).toEqual(plain);
      expect(await db.query(sql, params, { prepared: true })).toEqual(plain);
      expect(await db.query(sql, [1n, new Date(0), false, "w", 0], { prepared: true })).toEqual([]);
      // An error in execution (the statement was parsed in that call) leaves the name usable.
      const failing = `SELECT 1 / $1::int AS q`;
      await expect(db.query(failing, [0], { prepared: true })).rejects.toThrow(/division by zero/);
      expect(await db.query(failing, [1], { prepared: true })).toEqual([{ q: 1 }]);
      // A top-level prepared read sees only what a transaction committed, after it committed.
      const ws = await db.prisma.workspace.create({ data: { name: "before" } });
      const read = `SELECT name FROM workspaces WHERE id = $1::uuid`;
      let readDuring: Promise<unknown> | undefined;
      await db.prisma.$transaction(async (tx) => {
        await tx.workspace.update({ where: { id: ws.id }, data: { name: "after" } });
        readDuring = db.query(read, [ws.id], { prepared: true });
        await new Promise((resolve) => setTimeout(resolve, 50));
      });
      expect(await readDuring).toEqual([{ name: backend.databaseUrl ? "before" : "after" }]); // PostgreSQL reads committed data at once; PGlite waits for the transaction
    });

    it.skipIf(!backend.databaseUrl)("a connection the server ends while it closes (restart, failover, DROP … FORCE) is no uncaught exception", async () => {
      // pool.end() resolves before its clients' backends have exited; a FATAL arriving then is
      // emitted on the pool, which Prisma's adapter no longer listens to after $disconnect.
      const second = await openDatabase({ url: db.url!, kind: "postgres" });
      await Promise.all(Array.from({ length: 4 }, () => second.query(`SELECT pg_sleep(0.05)`, [])));
      await Promise.all([
        second.close(),
        db.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`, []),
      ]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await db.query<{ one: number }>(`SELECT 1 AS one`, [])).toEqual([{ one: 1 }]);
    });
  });
}
