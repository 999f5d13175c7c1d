/**
 * Workers dying mid-flight (PostgreSQL + Redis, separate processes): a worker SIGKILLed while
 * 100 jobs run leaves them to a second worker, and each job is completed and captured once;
 * the same completion delivered three times at once captures once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completeJob } from "@aeriox/core/jobs";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox } from "../test/processes.ts";
import { allTerminal, ledgerAudit, until, print } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const FAST_LOCK = { WORKER_LOCK_MS: "2000", WORKER_STALLED_CHECK_MS: "1000", WORKER_CONCURRENCY: "8", LOG_LEVEL: "error" };
let srv: TestServer;

describe.skipIf(!multiProcess)("chaos: workers", () => {
  beforeAll(async () => {
    srv = await startTestServer({ worker: false, env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "1000", RATE_LIMIT_PER_MINUTE: "1000000" } });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
  });

  it("SIGKILL a worker while 100 jobs run: a second worker finishes them, each completed once", async () => {
    const { key, workspace_id } = await srv.createKey();
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) {
      const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: `chaos tile ${i}`, resolution: "512x512" } });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { job_id: string }).job_id);
    }
    const doomed = (await spawnAeriox(srv, "worker", FAST_LOCK)).child;
    const prisma = srv.runtime.db.prisma;
    // Killed with jobs running and others still waiting.
    await until(
      "jobs completed and running on the first worker",
      async () => (await prisma.job.count({ where: { id: { in: ids }, status: "completed" } })) >= 5 && (await prisma.job.count({ where: { id: { in: ids }, status: "running" } })) > 0,
      60_000,
      20,
    );
    doomed.kill("SIGKILL");
    const atKill = await prisma.job.groupBy({ by: ["status"], where: { id: { in: ids } }, _count: true });
    await spawnAeriox(srv, "worker", FAST_LOCK);
    await allTerminal(srv, workspace_id, 150_000);
    const rows = await prisma.job.findMany({ where: { id: { in: ids } }, select: { status: true, attempts: true } });
    expect(rows.filter((r) => r.status !== "completed")).toEqual([]);
    const counts = await ledgerAudit(srv, workspace_id, "SIGKILL worker, 100 jobs");
    expect(counts.completed).toBe(100);
    print(`[chaos]   at the kill: ${JSON.stringify(Object.fromEntries(atKill.map((g) => [g.status, g._count])))}; retried jobs: ${rows.filter((r) => r.attempts > 1).length}`);
  }, 200_000);

  it("the same completion delivered three times at once: one capture", async () => {
    // The previous scenario's second worker would take the job and, being quicker than the three
    // completions below (one statement since aeriox_complete_job), complete it first.
    killSpawned();
    const { key, workspace_id } = await srv.createKey();
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "thrice", resolution: "64x64" } });
    const jobId = ((await res.json()) as { job_id: string }).job_id;
    // No worker of this test's queue is left idle for it; it is taken as a worker would take it.
    await srv.runtime.db.prisma.job.updateMany({ where: { id: jobId, status: "queued" }, data: { status: "running", startedAt: new Date() } });
    const results = await Promise.all([1, 2, 3].map(() => completeJob(srv.runtime.db, jobId, { actualCostMicros: 60n, durationMs: 5 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    const counts = await ledgerAudit(srv, workspace_id, "completion delivered 3 times");
    expect(counts.captures).toBe(1);
  }, 60_000);
});
