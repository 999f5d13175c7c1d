/**
 * BullMQ across processes (needs PostgreSQL and Redis: runs in CI's second pass):
 * two worker processes share the queue and process every job exactly once; a
 * worker killed with SIGKILL mid-job leaves the job to another worker, which
 * finishes it with exactly one settlement.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";
import { killSpawned, spawnAeriox } from "./processes.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
let srv: TestServer;

const spawnWorker = async (env: Record<string, string> = {}): Promise<ChildProcess> => (await spawnAeriox(srv, "worker", env)).child;

describe.skipIf(!multiProcess)("BullMQ workers in separate processes", () => {
  beforeAll(async () => {
    srv = await startTestServer({ worker: false, env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "100" } });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
  });

  it("two workers process every job exactly once and the ledger balances", async () => {
    const pair = await Promise.all([spawnWorker(), spawnWorker()]);
    const { key, workspace_id } = await srv.createKey();
    const ids: string[] = [];
    for (let i = 0; i < 24; i++) {
      const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: `tile ${i}`, resolution: "128x128" } });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as JobBody).job_id);
    }
    const jobs = await Promise.all(ids.map((id) => waitForJob(srv, key, id, 90_000)));
    expect(jobs.every((j) => j.status === "completed")).toBe(true);
    const rows = await srv.runtime.db.prisma.job.findMany({ where: { id: { in: ids } } });
    expect(rows.map((r) => r.attempts)).toEqual(rows.map(() => 1));
    const assets = await srv.runtime.db.prisma.asset.count({ where: { jobId: { in: ids } } });
    expect(assets).toBe(ids.length);
    const captures = await srv.runtime.db.prisma.ledgerEntry.count({ where: { jobId: { in: ids }, kind: "capture" } });
    expect(captures).toBe(ids.length);
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
    for (const w of pair) w.kill("SIGTERM");
  }, 120_000);

  it("a worker killed mid-job: another worker finishes it, settled once", async () => {
    const fast = { WORKER_LOCK_MS: "2000", WORKER_STALLED_CHECK_MS: "1000" };
    const doomed = await spawnWorker(fast);
    const { key, workspace_id } = await srv.createKey();
    const res = await srv.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "long take", duration_s: 30 } });
    const jobId = ((await res.json()) as JobBody).job_id;
    // wait until the doomed worker has started it
    for (let i = 0; i < 200; i++) {
      const row = await srv.runtime.db.prisma.job.findUnique({ where: { id: jobId } });
      if (row?.status === "running") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    doomed.kill("SIGKILL");
    await spawnWorker(fast);
    const job = await waitForJob(srv, key, jobId, 90_000);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    const row = await srv.runtime.db.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
    expect(row.attempts).toBeGreaterThanOrEqual(2);
    const captures = await srv.runtime.db.prisma.ledgerEntry.count({ where: { jobId, kind: "capture" } });
    expect(captures).toBe(1);
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
  }, 120_000);
});
