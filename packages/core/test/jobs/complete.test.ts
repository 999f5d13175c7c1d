/**
 * The worker's completion in one statement (`completeJobWithOutputs`, `aeriox_complete_job`;
 * docs/ARCHITECTURE.md, Jobs, "Worker hot path"): the job completed, its hold captured once at
 * the reported cost capped at the estimate, its assets and `job.completed` deliveries recorded —
 * or nothing at all when the job is no longer running, including when completions race each other
 * and a cancel. The ledger stays equal to the balance and `held_count` to the holds held.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { completeJob, completeJobWithOutputs, endJobWithRefund } from "../../src/jobs/settle.ts";
import { recordJobEvent } from "../../src/webhooks/events.ts";
import type { StoredOutput } from "../../src/assets/assets.ts";
import { credit } from "../../src/wallet/index.ts";
import { backends } from "../db/backends.ts";
import { expectConsistent, newWorkspace, principal, submit, submitServices, usd } from "../wallet/fixtures.ts";

function output(workspaceId: string, jobId: string): StoredOutput {
  const id = randomUUID();
  return { id, storageKey: `${workspaceId}/${jobId}/0-${id}.png`, contentType: "image/png", sizeBytes: 70n, width: 1, height: 1, durationS: null };
}

for (const backend of backends) {
  describe.skipIf(backend.skip)(`completing a job in one statement on ${backend.name}`, () => {
    let db: TestDatabase;

    /** A funded workspace and a job of it, `running` as a worker's start leaves it. */
    async function runningJob(ws?: string) {
      const workspaceId = ws ?? (await newWorkspace(db));
      if (!ws) await credit(db, { workspaceId, kind: "topup", amountMicros: usd(1), stripeEventId: `evt_${randomUUID()}` });
      const job = await submit(submitServices(db), principal(workspaceId));
      await db.prisma.job.update({ where: { id: job.id }, data: { status: "running", startedAt: new Date() } });
      return { id: job.id, workspaceId };
    }

    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("completes, captures at the reported cost, records the assets in order and the job.completed deliveries", async () => {
      const job = await runningJob();
      await db.prisma.webhookEndpoint.create({ data: { workspaceId: job.workspaceId, url: "https://hooks.example/a", events: ["job.completed"], secret: "whsec_x" } });
      await db.prisma.webhookEndpoint.create({ data: { workspaceId: job.workspaceId, url: "https://hooks.example/b", events: ["job.started"], secret: "whsec_y" } });
      await db.prisma.jobWebhook.create({ data: { jobId: job.id, workspaceId: job.workspaceId, url: "https://hooks.example/own", events: ["job.completed"] } });
      const outputs = [output(job.workspaceId, job.id), output(job.workspaceId, job.id)];
      expect(await completeJobWithOutputs(db, job, outputs, { actualCostMicros: 60n, durationMs: 7 })).toBe(true);

      const row = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
      expect(row).toMatchObject({ status: "completed", progressPct: 100, durationMs: 7, chargedCostMicros: 60n, outputAssetIds: outputs.map((o) => o.id) });
      expect(row.completedAt).toBeInstanceOf(Date);
      expect(await db.prisma.hold.findUniqueOrThrow({ where: { jobId: job.id } })).toMatchObject({ status: "captured", capturedMicros: 60n });
      const assets = await db.prisma.asset.findMany({ where: { jobId: job.id } });
      expect(assets.map((a) => a.id).sort()).toEqual(outputs.map((o) => o.id).sort());
      expect(assets[0]).toMatchObject({ workspaceId: job.workspaceId, contentType: "image/png", sizeBytes: 70n, width: 1, height: 1, durationS: null });
      const deliveries = await db.prisma.webhookDelivery.findMany({ where: { jobId: job.id } });
      expect(deliveries.map((d) => d.url).sort()).toEqual(["https://hooks.example/a", "https://hooks.example/own"]);
      for (const d of deliveries) expect(d).toMatchObject({ eventType: "job.completed", status: "pending", payload: null, attempts: 0 });
      expect(deliveries[0]!.webhookId).toMatch(/^msg_[0-9a-f]{32}$/);
      expect(await db.prisma.ledgerEntry.findMany({ where: { jobId: job.id }, select: { kind: true, amountMicros: true } })).toEqual([{ kind: "capture", amountMicros: -60n }]);
      await expectConsistent(db, job.workspaceId);
    });

    it("the one-statement completion and every other path deliver an event to the same targets", async () => {
      // Endpoints subscribed to all events, to job.completed only, to running events only; another
      // workspace's endpoint; jobs whose own webhook_url filter has job.completed or not.
      const ws = await newWorkspace(db);
      await credit(db, { workspaceId: ws, kind: "topup", amountMicros: usd(1), stripeEventId: `evt_${randomUUID()}` });
      const other = await newWorkspace(db);
      const endpoint = (workspaceId: string, url: string, events: string[]) => db.prisma.webhookEndpoint.create({ data: { workspaceId, url, events, secret: "whsec_x" } });
      await endpoint(ws, "https://hooks.example/all", ["job.started", "job.progress", "job.completed"]);
      await endpoint(ws, "https://hooks.example/completed", ["job.completed"]);
      await endpoint(ws, "https://hooks.example/running", ["job.started", "job.progress"]);
      await endpoint(other, "https://hooks.example/other-workspace", ["job.started", "job.progress", "job.completed"]);
      const jobWith = async (ownEvents: string[]) => {
        const job = await runningJob(ws);
        await db.prisma.jobWebhook.create({ data: { jobId: job.id, workspaceId: ws, url: "https://hooks.example/own", events: ownEvents } });
        return job;
      };
      const targets = async (jobId: string, eventType: string) =>
        (await db.prisma.webhookDelivery.findMany({ where: { jobId, eventType } })).map((d) => `${d.workspaceId === ws ? "" : "WRONG WORKSPACE "}${d.url} ${d.status} ${d.payload}`).sort();

      for (const own of [["job.completed"], ["job.started"]]) {
        const bySql = await jobWith(own);
        const byPrisma = await jobWith(own);
        const refunded = await jobWith(own);
        expect(await completeJobWithOutputs(db, bySql, [], { actualCostMicros: 60n, durationMs: 1 })).toBe(true); // aeriox_complete_job
        expect(await completeJob(db, byPrisma.id, { actualCostMicros: 60n, durationMs: 1 })).toBe(true); // the general path (side-effects.ts)
        expect(await endJobWithRefund(db, refunded.id, "failed", null)).toBe(true);
        const expected = ["https://hooks.example/all pending null", "https://hooks.example/completed pending null", ...(own.includes("job.completed") ? ["https://hooks.example/own pending null"] : [])];
        expect(await targets(bySql.id, "job.completed")).toEqual(expected);
        expect(await targets(byPrisma.id, "job.completed")).toEqual(expected);
        expect(await targets(refunded.id, "job.completed")).toEqual(expected);

        // A running event of the same job reaches the targets subscribed to it, with its body.
        expect(await recordJobEvent(db.prisma, bySql, "job.started", "{}")).toBe(own.includes("job.started") ? 3 : 2);
        expect(await targets(bySql.id, "job.started")).toEqual(["https://hooks.example/all pending {}", ...(own.includes("job.started") ? ["https://hooks.example/own pending {}"] : []), "https://hooks.example/running pending {}"]);
      }
      await expectConsistent(db, ws);
    });

    it("caps a reported cost above the estimate at the hold, and a missing cost settles at the hold", async () => {
      const over = await runningJob();
      expect(await completeJobWithOutputs(db, over, [], { actualCostMicros: 5_000n, durationMs: 1 })).toBe(true);
      expect(await db.prisma.job.findUniqueOrThrow({ where: { id: over.id } })).toMatchObject({ chargedCostMicros: 100n, outputAssetIds: [] });
      const unknown = await runningJob(over.workspaceId);
      expect(await completeJobWithOutputs(db, unknown, [], { actualCostMicros: null, durationMs: 1 })).toBe(true);
      expect(await db.prisma.hold.findUniqueOrThrow({ where: { jobId: unknown.id } })).toMatchObject({ status: "captured", capturedMicros: 100n });
      await expectConsistent(db, over.workspaceId);
    });

    it("a job cancelled first is left alone: false, no asset, no charge", async () => {
      const job = await runningJob();
      expect(await endJobWithRefund(db, job.id, "cancelled", null)).toBe(true);
      expect(await completeJobWithOutputs(db, job, [output(job.workspaceId, job.id)], { actualCostMicros: 60n, durationMs: 1 })).toBe(false);
      expect(await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).toMatchObject({ status: "cancelled", chargedCostMicros: null, outputAssetIds: [] });
      expect(await db.prisma.asset.count({ where: { jobId: job.id } })).toBe(0);
      expect(await db.prisma.ledgerEntry.count({ where: { jobId: job.id } })).toBe(0);
      await expectConsistent(db, job.workspaceId);
    });

    it("three completions and a cancel at once: one outcome, settled once", async () => {
      const ws = await newWorkspace(db);
      await credit(db, { workspaceId: ws, kind: "topup", amountMicros: usd(1), stripeEventId: `evt_${randomUUID()}` });
      const jobs = await Promise.all(Array.from({ length: 10 }, () => runningJob(ws)));
      const outcomes = await Promise.all(
        jobs.map(async (job) => {
          const results = await Promise.all([
            completeJobWithOutputs(db, job, [output(ws, job.id)], { actualCostMicros: 60n, durationMs: 1 }),
            completeJobWithOutputs(db, job, [output(ws, job.id)], { actualCostMicros: 60n, durationMs: 1 }),
            endJobWithRefund(db, job.id, "cancelled", null),
            completeJobWithOutputs(db, job, [output(ws, job.id)], { actualCostMicros: 60n, durationMs: 1 }),
          ]);
          return results.filter(Boolean).length;
        }),
      );
      expect(outcomes).toEqual(Array(10).fill(1));
      for (const job of jobs) {
        const row = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
        const hold = await db.prisma.hold.findUniqueOrThrow({ where: { jobId: job.id } });
        expect(hold.status).toBe(row.status === "completed" ? "captured" : "released");
        expect(await db.prisma.asset.count({ where: { jobId: job.id } })).toBe(row.status === "completed" ? 1 : 0);
        expect(await db.prisma.ledgerEntry.count({ where: { jobId: job.id } })).toBe(row.status === "completed" ? 1 : 0);
      }
      expect((await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws } })).heldCount).toBe(0);
      await expectConsistent(db, ws);
    });
  });
}
