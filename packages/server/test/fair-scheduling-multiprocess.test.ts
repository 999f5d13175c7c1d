/**
 * Fair scheduling across worker processes (needs PostgreSQL and Redis: runs in
 * CI's second pass): what a crash leaves behind in the fairness keys heals. A
 * workspace slot is a lease in Redis, so a worker killed with SIGKILL mid-job does
 * not keep the slot of its workspace forever, even when BullMQ gives that job up
 * and never hands it to a worker again; a lost ticket does not stall a backlog.
 */
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";
import { killSpawned, spawnAeriox } from "./processes.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const LOCK_MS = 2000;

let srv: TestServer;

const spawnWorker = async (): Promise<ChildProcess> =>
  (await spawnAeriox(srv, "worker", { LANE_WORKSPACE_CONCURRENCY: "1", WORKER_LOCK_MS: String(LOCK_MS), WORKER_STALLED_CHECK_MS: "1000" })).child;

describe.skipIf(!multiProcess)("fair scheduling across worker processes", () => {
  beforeAll(async () => {
    srv = await startTestServer({ worker: false });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
  });

  it("a ticket lost in a crash does not stall its workspace: enqueue and the reconciler's holds see through it", async () => {
    const redis = srv.runtime.redis!;
    const { key, workspace_id } = await srv.createKey();
    // A worker took the workspace's ticket, made the next backlogged job the ticket, and died before adding
    // that job to BullMQ (the keys are bullmq-queue.ts's; only a crash leaves them like this).
    const base = `${srv.config.REDIS_PREFIX}:fair:local:${workspace_id}`;
    await redis.set(`${base}:ticket`, randomUUID());
    const orphan = { id: randomUUID(), provider: "local", workspaceId: workspace_id };
    await redis.rpush(`${base}:backlog`, orphan.id);
    await redis.sadd(`${base}:backlog-set`, orphan.id);
    expect(await srv.runtime.queue.holds(orphan)).toBe(false); // so the reconciler enqueues it again
    await srv.runtime.queue.enqueue(orphan);
    expect(await srv.runtime.queue.holds(orphan)).toBe(true);

    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "behind the orphan", resolution: "128x128" } });
    expect(res.status).toBe(202);
    const worker = await spawnWorker();
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id, 30_000);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    worker.kill("SIGTERM");
    await once(worker, "exit");
  }, 60_000);

  it("a worker killed mid-job does not keep its workspace's slot forever", async () => {
    const { key, workspace_id } = await srv.createKey();
    const row = () => srv.runtime.db.prisma.job.findUniqueOrThrow({ where: { id: stranded } });
    const until = async (condition: () => Promise<boolean>) => {
      for (let i = 0; i < 600 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 50));
    };

    const first = await spawnWorker();
    const res = await srv.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "long take", duration_s: 30 } });
    expect(res.status).toBe(202);
    const stranded = ((await res.json()) as JobBody).job_id;
    await until(async () => (await row()).status === "running");
    first.kill("SIGKILL");
    // BullMQ hands a stalled job on once (maxStalledCount 1): the second worker takes it and dies too,
    // so BullMQ gives the job up and no worker ever runs it again or frees the slot it held (cap 1).
    const second = await spawnWorker();
    await until(async () => (await row()).attempts >= 2);
    expect((await row()).attempts).toBe(2);
    second.kill("SIGKILL");

    const next = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "after the crash", resolution: "128x128" } });
    expect(next.status).toBe(202);
    await spawnWorker();
    const job = await waitForJob(srv, key, ((await next.json()) as JobBody).job_id, 30_000);
    expect(job.status, JSON.stringify(job.error)).toBe("completed");
    const given = await waitForJob(srv, key, stranded, 30_000);
    expect(given.status).toBe("failed");
    expect((await row()).attempts).toBe(2);
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
  }, 120_000);
});
