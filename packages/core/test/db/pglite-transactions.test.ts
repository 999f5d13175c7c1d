import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { backends } from "./backends.ts";

for (const backend of backends) {
  describe.skipIf(backend.skip)(`interactive transactions on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("50 concurrent read-modify-write transactions neither deadlock nor lose an update", async () => {
      const ws = await db.prisma.workspace.create({ data: { name: "tx" } });
      await db.prisma.wallet.create({ data: { workspaceId: ws.id } });
      const started = performance.now();
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          db.prisma.$transaction(async (tx) => {
            // Lock the row: on PostgreSQL transactions really overlap; on PGlite they are serialised.
            await tx.$queryRawUnsafe(`SELECT 1 FROM wallets WHERE workspace_id = $1::uuid FOR UPDATE`, ws.id);
            const w = await tx.wallet.findUniqueOrThrow({ where: { workspaceId: ws.id } });
            await new Promise((r) => setTimeout(r, i % 3)); // yield mid-transaction
            await tx.wallet.update({ where: { workspaceId: ws.id }, data: { balanceMicros: w.balanceMicros + 1n } });
          }),
        ),
      );
      console.log(`[${backend.name}] 50 concurrent interactive transactions: ${(performance.now() - started).toFixed(0)} ms`);
      const w = await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws.id } });
      expect(w.balanceMicros).toBe(50n);
    });

    it("a query outside a transaction never lands inside someone else's rolled-back transaction", async () => {
      const ws = await db.prisma.workspace.create({ data: { name: "isolation" } });
      const failing = db.prisma.$transaction(async (tx) => {
        await tx.workspace.update({ where: { id: ws.id }, data: { name: "renamed" } });
        await new Promise((r) => setTimeout(r, 50));
        throw new Error("roll back");
      });
      const outside = (async () => {
        await new Promise((r) => setTimeout(r, 10));
        return db.prisma.card.create({ data: { workspaceId: ws.id, cardType: "note", name: "survives" } });
      })();
      await expect(failing).rejects.toThrow("roll back");
      await outside;
      expect((await db.prisma.workspace.findUniqueOrThrow({ where: { id: ws.id } })).name).toBe("isolation");
      expect(await db.prisma.card.count({ where: { workspaceId: ws.id } })).toBe(1);
    });
  });
}
