import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { capture, credit, getWalletSnapshot, release, reserve, sumEntries } from "../../src/wallet/index.ts";
import { ApiError } from "../../src/errors.ts";
import { backends } from "../db/backends.ts";
import { expectConsistent, newApiKey, newWorkspace, settleAll, usd } from "./fixtures.ts";

const quiet = { warn: () => undefined };

for (const backend of backends) {
  describe.skipIf(backend.skip)(`wallet holds on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    async function funded(amount: bigint): Promise<string> {
      const ws = await newWorkspace(db);
      await credit(db, { workspaceId: ws, kind: "topup", amountMicros: amount, stripeEventId: `evt_${randomUUID()}` });
      return ws;
    }

    it("200 concurrent reservations against a balance that covers 100: exactly 100 succeed, available ends at 0", async () => {
      const ws = await funded(usd(10));
      const started = performance.now();
      const { ok, codes } = await settleAll(Array.from({ length: 200 }, () => reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.1) })));
      console.log(`[${backend.name}] 200 concurrent reservations: ${(performance.now() - started).toFixed(0)} ms`);
      expect(ok).toHaveLength(100);
      expect(codes).toEqual(Array(100).fill("insufficient_funds"));
      for (const r of ok) expect(r.availableMicros).toBeGreaterThanOrEqual(0n);
      const snapshot = await getWalletSnapshot(db, ws);
      expect(snapshot).toMatchObject({ totalMicros: usd(10), reservedMicros: usd(10), availableMicros: 0n });
      expect(await db.prisma.hold.count({ where: { workspaceId: ws, status: "held" } })).toBe(100);
      await expectConsistent(db, ws);
    });

    it("402 insufficient_funds carries needed and available amounts", async () => {
      const ws = await funded(usd(1));
      const err = await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(1.5) }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ApiError);
      expect(err).toMatchObject({ status: 402, code: "insufficient_funds", details: { needed_usd: 1.5, available_usd: 1, needed_micros: 1_500_000, available_micros: 1_000_000 } });
      // A workspace without a wallet has nothing available.
      const empty = await newWorkspace(db);
      await expect(reserve(db, { workspaceId: empty, jobId: randomUUID(), amountMicros: 1n })).rejects.toMatchObject({ code: "insufficient_funds", details: { available_micros: 0 } });
      await expectConsistent(db, ws);
    });

    it("reserving twice for one job holds once", async () => {
      const ws = await funded(usd(1));
      const job = randomUUID();
      const results = await Promise.all(Array.from({ length: 5 }, () => reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(0.3) })));
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect((await getWalletSnapshot(db, ws)).reservedMicros).toBe(usd(0.3));
      await expectConsistent(db, ws);
    });

    it("captures at the actual cost and releases the rest of the hold", async () => {
      const ws = await funded(usd(5));
      const job = randomUUID();
      await reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(1) });
      const settled = await capture(db, { jobId: job, actualMicros: usd(0.25) });
      expect(settled).toEqual({ jobId: job, status: "captured", heldMicros: usd(1), capturedMicros: usd(0.25), alreadySettled: false });
      expect(await getWalletSnapshot(db, ws)).toMatchObject({ totalMicros: usd(4.75), reservedMicros: 0n, availableMicros: usd(4.75) });
      const entry = await db.prisma.ledgerEntry.findFirstOrThrow({ where: { jobId: job } });
      expect(entry).toMatchObject({ kind: "capture", amountMicros: -usd(0.25) });
      await expectConsistent(db, ws);
    });

    it("refuses a capture above the hold (a bug in the caller) and leaves the hold intact", async () => {
      const ws = await funded(usd(5));
      const job = randomUUID();
      await reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(1) });
      await expect(capture(db, { jobId: job, actualMicros: usd(1) + 1n })).rejects.toMatchObject({ status: 500, code: "capture_exceeds_hold" });
      expect(await db.prisma.hold.findUniqueOrThrow({ where: { jobId: job } })).toMatchObject({ status: "held" });
      expect((await getWalletSnapshot(db, ws)).reservedMicros).toBe(usd(1));
      await expectConsistent(db, ws);
    });

    it("settles at the held amount, with a warning, when the actual cost is unknown", async () => {
      const ws = await funded(usd(5));
      const job = randomUUID();
      await reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(2) });
      const warnings: string[] = [];
      const settled = await capture(db, { jobId: job, actualMicros: null, logger: { warn: (_o, m) => warnings.push(m) } });
      expect(settled.capturedMicros).toBe(usd(2));
      expect(warnings).toHaveLength(1);
      expect((await getWalletSnapshot(db, ws)).totalMicros).toBe(usd(3));
      await expectConsistent(db, ws);
    });

    it("capture called 5× concurrently debits once; every call returns the same settlement", async () => {
      const ws = await funded(usd(5));
      const job = randomUUID();
      await reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(1) });
      const results = await Promise.all(Array.from({ length: 5 }, () => capture(db, { jobId: job, actualMicros: usd(0.6) })));
      expect(results.filter((r) => !r.alreadySettled)).toHaveLength(1);
      for (const r of results) expect(r).toMatchObject({ status: "captured", capturedMicros: usd(0.6) });
      expect(await db.prisma.ledgerEntry.count({ where: { jobId: job } })).toBe(1);
      expect(await sumEntries(db, ws)).toBe(usd(4.4));
      await expectConsistent(db, ws);
    });

    it("release called 5× concurrently frees the hold once and writes no ledger entry", async () => {
      const ws = await funded(usd(5));
      const job = randomUUID();
      await reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(1) });
      const results = await Promise.all(Array.from({ length: 5 }, () => release(db, { jobId: job })));
      expect(results.filter((r) => !r.alreadySettled)).toHaveLength(1);
      for (const r of results) expect(r).toMatchObject({ status: "released", capturedMicros: 0n });
      expect(await getWalletSnapshot(db, ws)).toMatchObject({ totalMicros: usd(5), reservedMicros: 0n, availableMicros: usd(5) });
      expect(await db.prisma.ledgerEntry.count({ where: { jobId: job } })).toBe(0);
      await expectConsistent(db, ws);
    });

    it("capture racing release: one outcome per job, never both", async () => {
      const ws = await funded(usd(10));
      const jobs = Array.from({ length: 20 }, () => randomUUID());
      for (const job of jobs) await reserve(db, { workspaceId: ws, jobId: job, amountMicros: usd(0.5) });
      await Promise.all(jobs.flatMap((job) => [capture(db, { jobId: job, actualMicros: usd(0.4) }), release(db, { jobId: job }), capture(db, { jobId: job, actualMicros: usd(0.4) })]));
      const holds = await db.prisma.hold.findMany({ where: { jobId: { in: jobs } } });
      const captured = holds.filter((h) => h.status === "captured");
      expect(holds.every((h) => h.status === "captured" || h.status === "released")).toBe(true);
      expect(await db.prisma.ledgerEntry.count({ where: { jobId: { in: jobs } } })).toBe(captured.length);
      expect(await getWalletSnapshot(db, ws)).toMatchObject({ reservedMicros: 0n, totalMicros: usd(10) - BigInt(captured.length) * usd(0.4) });
      // Later calls in either direction return the settled outcome.
      for (const h of holds) expect((await release(db, { jobId: h.jobId })).status).toBe(h.status);
      for (const h of holds) expect((await capture(db, { jobId: h.jobId, actualMicros: 0n, logger: quiet })).status).toBe(h.status);
      await expectConsistent(db, ws);
    });

    it("capturing or releasing a job without a hold is an error", async () => {
      await expect(capture(db, { jobId: randomUUID(), actualMicros: 1n })).rejects.toMatchObject({ code: "hold_not_found" });
      await expect(release(db, { jobId: randomUUID() })).rejects.toMatchObject({ code: "hold_not_found" });
    });

    it("joins the caller's transaction: a rolled-back job creation leaves no reservation", async () => {
      const ws = await funded(usd(1));
      const job = randomUUID();
      await expect(
        db.prisma.$transaction(async (tx) => {
          await reserve(tx, { workspaceId: ws, jobId: job, amountMicros: usd(0.5) });
          throw new Error("job insert failed");
        }),
      ).rejects.toThrow("job insert failed");
      expect(await db.prisma.hold.count({ where: { jobId: job } })).toBe(0);
      expect((await getWalletSnapshot(db, ws)).reservedMicros).toBe(0n);
      await db.prisma.$transaction(async (tx) => {
        // A refusal inside the caller's transaction leaves that transaction usable.
        await expect(reserve(tx, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(2) })).rejects.toMatchObject({ code: "insufficient_funds" });
        await reserve(tx, { workspaceId: ws, jobId: job, amountMicros: usd(0.5) });
        await capture(tx, { jobId: job, actualMicros: usd(0.5) });
      });
      expect((await getWalletSnapshot(db, ws)).totalMicros).toBe(usd(0.5));
      await expectConsistent(db, ws);
    });

    describe("monthly key budget", () => {
      const spentThisMonth = async (key: string) =>
        (await db.prisma.$queryRaw<Array<{ spent: bigint }>>`
          SELECT COALESCE((SELECT spent_micros FROM api_key_monthly_spend
                            WHERE api_key_id = ${key}::uuid AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date), 0)::bigint AS spent`)[0]!.spent;

      it("budget $1, 50 concurrent $0.10 reservations with settlements racing: never more than $1 held + captured", async () => {
        const ws = await funded(usd(100));
        const key = await newApiKey(db, ws);
        const budget = { apiKeyId: key, monthlyBudgetMicros: usd(1) };
        const jobs = Array.from({ length: 50 }, () => randomUUID());
        const { ok, codes } = await settleAll(jobs.map((jobId) => reserve(db, { workspaceId: ws, jobId, amountMicros: usd(0.1), ...budget })));
        expect(ok).toHaveLength(10);
        expect(codes).toEqual(Array(40).fill("key_budget_exceeded"));
        expect(await spentThisMonth(key)).toBe(usd(1));
        // Captures at the hold keep the budget used; more reservations racing them are refused.
        const held = ok.map((r) => r.jobId);
        const more = await settleAll<unknown>([
          ...held.map((jobId) => capture(db, { jobId, actualMicros: usd(0.1) })),
          ...Array.from({ length: 10 }, () => reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.1), ...budget })),
        ]);
        expect(more.codes).toEqual(Array(10).fill("key_budget_exceeded"));
        expect(await spentThisMonth(key)).toBe(usd(1));
        await expectConsistent(db, ws);
      });

      it("a release gives the hold back, a capture below the hold gives back the rest; 402 names the figures", async () => {
        const ws = await funded(usd(100));
        const key = await newApiKey(db, ws);
        const budget = { apiKeyId: key, monthlyBudgetMicros: usd(1) };
        const a = randomUUID();
        const b = randomUUID();
        await reserve(db, { workspaceId: ws, jobId: a, amountMicros: usd(0.6), ...budget });
        await reserve(db, { workspaceId: ws, jobId: b, amountMicros: usd(0.4), ...budget });
        const err = await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.25), ...budget }).catch((e: unknown) => e);
        expect(err).toMatchObject({
          status: 402,
          code: "key_budget_exceeded",
          details: { monthly_budget_usd: 1, monthly_spent_usd: 1, needed_usd: 0.25, remaining_usd: 0, monthly_budget_micros: 1_000_000 },
        });
        expect((err as ApiError).details!.monthly_budget_resets_at).toMatch(/^\d{4}-\d{2}-01T00:00:00\.000Z$/);
        await capture(db, { jobId: a, actualMicros: usd(0.5) }); // 0.1 of its hold given back
        expect(await spentThisMonth(key)).toBe(usd(0.9));
        await release(db, { jobId: b }); // all 0.4 given back
        expect(await spentThisMonth(key)).toBe(usd(0.5));
        // Settling again gives back nothing more.
        await release(db, { jobId: b });
        await capture(db, { jobId: a, actualMicros: usd(0.5) });
        expect(await spentThisMonth(key)).toBe(usd(0.5));
        await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.5), ...budget });
        await expect(reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: 1n, ...budget })).rejects.toMatchObject({ code: "key_budget_exceeded" });
        // Spend is counted without a budget too (a budget set later sees it), and per key.
        const other = await newApiKey(db, ws);
        await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(2), apiKeyId: other });
        expect(await spentThisMonth(other)).toBe(usd(2));
        await expect(reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: 1n, apiKeyId: other, monthlyBudgetMicros: usd(2) })).rejects.toMatchObject({ code: "key_budget_exceeded" });
        await expectConsistent(db, ws);
      });

      it("a hold placed last month gives back to last month, not this one; the audit catches a drifted counter", async () => {
        const ws = await funded(usd(100));
        const key = await newApiKey(db, ws);
        const old = randomUUID();
        await reserve(db, { workspaceId: ws, jobId: old, amountMicros: usd(0.3), apiKeyId: key });
        // Move the hold and its spend to last month (as if placed before the month turned).
        await db.prisma.$executeRaw`UPDATE api_key_monthly_spend SET month = (month - interval '1 month')::date WHERE api_key_id = ${key}::uuid`;
        await db.prisma.$executeRaw`UPDATE holds SET budget_month = (budget_month - interval '1 month')::date WHERE job_id = ${old}::uuid`;
        expect(await spentThisMonth(key)).toBe(0n);
        await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(1), apiKeyId: key, monthlyBudgetMicros: usd(1) });
        await release(db, { jobId: old });
        expect(await spentThisMonth(key)).toBe(usd(1));
        await expectConsistent(db, ws);
        await db.prisma.$executeRaw`UPDATE api_key_monthly_spend SET spent_micros = spent_micros + 1 WHERE api_key_id = ${key}::uuid AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date`;
        const { auditWallet } = await import("../../src/wallet/index.ts");
        expect((await auditWallet(db, ws)).problems).toEqual([expect.stringContaining(`key ${key} month`)]);
        await db.prisma.$executeRaw`UPDATE api_key_monthly_spend SET spent_micros = spent_micros - 1 WHERE api_key_id = ${key}::uuid AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date`;
        await expectConsistent(db, ws);
      });
    });

    describe("daily spend cap", () => {
      it("cap $1, 50 concurrent $0.10 reservations: exactly 10 succeed", async () => {
        const ws = await funded(usd(100));
        const key = await newApiKey(db, ws, usd(1));
        const started = performance.now();
        const { ok, codes } = await settleAll(
          Array.from({ length: 50 }, () => reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.1), apiKeyId: key, dailySpendCapMicros: usd(1) })),
        );
        console.log(`[${backend.name}] 50 concurrent capped reservations: ${(performance.now() - started).toFixed(0)} ms`);
        expect(ok).toHaveLength(10);
        expect(codes).toEqual(Array(40).fill("spend_cap_exceeded"));
        await expectConsistent(db, ws);
      });

      it("counts captured spend of the last 24 h, not released holds, and only for that key", async () => {
        const ws = await funded(usd(100));
        const key = await newApiKey(db, ws, usd(1));
        const other = await newApiKey(db, ws, usd(1));
        const cap = { apiKeyId: key, dailySpendCapMicros: usd(1) };
        const a = randomUUID();
        const b = randomUUID();
        await reserve(db, { workspaceId: ws, jobId: a, amountMicros: usd(0.6), ...cap });
        await reserve(db, { workspaceId: ws, jobId: b, amountMicros: usd(0.4), ...cap });
        await expect(reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: 1n, ...cap })).rejects.toMatchObject({
          status: 402,
          code: "spend_cap_exceeded",
          details: { daily_spend_cap_usd: 1, spent_24h_usd: 1, remaining_usd: 0 },
        });
        await capture(db, { jobId: a, actualMicros: usd(0.5) }); // spent: 0.5 captured + 0.4 held
        await release(db, { jobId: b }); // spent: 0.5
        await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.5), ...cap });
        await expect(reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: 1n, ...cap })).rejects.toMatchObject({ code: "spend_cap_exceeded" });
        // Captures older than 24 h no longer count.
        await db.prisma.ledgerEntry.updateMany({ where: { jobId: a }, data: { createdAt: new Date(Date.now() - 25 * 3600_000) } });
        await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(0.5), ...cap });
        // Another key's cap is its own.
        await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: usd(1), apiKeyId: other, dailySpendCapMicros: usd(1) });
        await expectConsistent(db, ws);
      });
    });
  });
}
