import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { credit, ensureWallet, getWalletSnapshot, reserve, sumEntries } from "../../src/wallet/index.ts";
import { backends } from "../db/backends.ts";
import { expectConsistent, newWorkspace, settleAll, usd } from "./fixtures.ts";
import { randomUUID } from "node:crypto";

for (const backend of backends) {
  describe.skipIf(backend.skip)(`wallet credits on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("ensureWallet creates one empty USD wallet, concurrently too", async () => {
      const ws = await newWorkspace(db);
      const wallets = await Promise.all(Array.from({ length: 10 }, () => ensureWallet(db, ws)));
      expect(new Set(wallets.map((w) => w.workspaceId)).size).toBe(1);
      expect(wallets[0]).toMatchObject({ balanceMicros: 0n, reservedMicros: 0n, currency: "USD" });
      expect(await db.prisma.wallet.count({ where: { workspaceId: ws } })).toBe(1);
    });

    it("accepts a Database, a PrismaClient or a transaction client", async () => {
      const ws = await newWorkspace(db);
      await ensureWallet(db.prisma, ws);
      await credit(db.prisma, { workspaceId: ws, kind: "adjustment", amountMicros: usd(1) });
      await db.prisma.$transaction(async (tx) => {
        await credit(tx, { workspaceId: ws, kind: "adjustment", amountMicros: usd(2) });
      });
      expect((await getWalletSnapshot(db.prisma, ws)).totalMicros).toBe(usd(3));
      await expectConsistent(db, ws);
    });

    it("credits the trial once per workspace, even when asked 10 times at once", async () => {
      const ws = await newWorkspace(db);
      const results = await Promise.all(Array.from({ length: 10 }, () => credit(db, { workspaceId: ws, kind: "trial", amountMicros: usd(5) })));
      expect(results.filter((r) => r.credited)).toHaveLength(1);
      expect((await getWalletSnapshot(db, ws)).totalMicros).toBe(usd(5));
      expect((await db.prisma.workspace.findUniqueOrThrow({ where: { id: ws } })).trialCreditedAt).toBeInstanceOf(Date);
      expect(await credit(db, { workspaceId: ws, kind: "trial", amountMicros: usd(5) })).toMatchObject({ credited: false, balanceMicros: usd(5) });
      await expectConsistent(db, ws);
    });

    it("credits a Stripe event once when it is delivered 10 times concurrently", async () => {
      const ws = await newWorkspace(db);
      const event = `evt_${randomUUID()}`;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => credit(db, { workspaceId: ws, kind: "topup", amountMicros: usd(20), stripeEventId: event, description: "Stripe top-up" })),
      );
      expect(results.filter((r) => r.credited)).toHaveLength(1);
      expect(await sumEntries(db, ws)).toBe(usd(20));
      const snapshot = await getWalletSnapshot(db, ws);
      expect(snapshot.totalMicros).toBe(usd(20));
      expect(snapshot.entries).toHaveLength(1);
      expect(snapshot.entries[0]).toMatchObject({ kind: "topup", amountMicros: usd(20), stripeEventId: event, description: "Stripe top-up" });
      await expectConsistent(db, ws);
    });

    it("refuses a topup without its Stripe event and non-positive credits", async () => {
      const ws = await newWorkspace(db);
      await expect(credit(db, { workspaceId: ws, kind: "topup", amountMicros: usd(5) })).rejects.toThrow(/stripeEventId/);
      await expect(credit(db, { workspaceId: ws, kind: "trial", amountMicros: 0n })).rejects.toThrow(/positive/);
      await expect(credit(db, { workspaceId: ws, kind: "topup", amountMicros: -1n, stripeEventId: "evt_neg" })).rejects.toThrow(/positive/);
    });

    it("a negative adjustment cannot take the balance below the reserved funds", async () => {
      const ws = await newWorkspace(db);
      await credit(db, { workspaceId: ws, kind: "adjustment", amountMicros: usd(10), description: "goodwill" });
      await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(8) });
      const { codes } = await settleAll([credit(db, { workspaceId: ws, kind: "adjustment", amountMicros: -usd(3) })]);
      expect(codes).toEqual(["adjustment_exceeds_available"]);
      expect(await credit(db, { workspaceId: ws, kind: "adjustment", amountMicros: -usd(2) })).toMatchObject({ credited: true, balanceMicros: usd(8) });
      const snapshot = await getWalletSnapshot(db, ws);
      expect(snapshot).toMatchObject({ totalMicros: usd(8), reservedMicros: usd(8), availableMicros: 0n });
      await expectConsistent(db, ws);
    });

    it("snapshot lists the most recent entries first, up to the limit", async () => {
      const ws = await newWorkspace(db);
      for (let i = 1; i <= 5; i++) await credit(db, { workspaceId: ws, kind: "topup", amountMicros: usd(i), stripeEventId: `evt_${randomUUID()}` });
      const snapshot = await getWalletSnapshot(db, ws, 3);
      expect(snapshot.entries.map((e) => e.amountMicros)).toEqual([usd(5), usd(4), usd(3)]);
      expect(snapshot.totalMicros).toBe(usd(15));
      expect((await getWalletSnapshot(db, await newWorkspace(db))).totalMicros).toBe(0n); // no wallet yet
    });
  });
}
