/**
 * Redis gone for 5 s under submit load (a private redis-server on its own loopback port, an
 * `aeriox serve` and an `aeriox worker` process pointed at it; SIGKILLed, so the queue's
 * contents go with it, then started again empty on the same port). While it is gone submits
 * answer 503 queue_unavailable (never 500) and each refused submit's reservation is undone (its
 * job failed and refunded); afterwards both processes carry on without a restart, and the jobs
 * the queue lost are enqueued again by the reconciler: every accepted job completes.
 */
import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox } from "../test/processes.ts";
import { allTerminal, call, freePort, ledgerAudit, load, sleep, startRedis, tally, until, waitForPort, type Outcome, print } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const LIMITS = { RATE_LIMIT_PER_MINUTE: "1000000", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "5000" };
const OUTAGE_MS = 5000;
let srv: TestServer;
let redis: ChildProcess | undefined;

describe.skipIf(!multiProcess)("chaos: Redis stopped", () => {
  beforeAll(async () => {
    srv = await startTestServer({ worker: false, env: LIMITS });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    redis?.kill("SIGKILL");
    await srv?.close();
  });

  it("5 s without Redis under submit load: 503 queue_unavailable, refunds, recovery, no job lost", async () => {
    const port = await freePort();
    redis = startRedis(port);
    await waitForPort(port);
    const env = { ...LIMITS, REDIS_URL: `redis://127.0.0.1:${port}`, PUBLIC_URL: "", LOG_LEVEL: "fatal" };
    const [api, worker] = await Promise.all([spawnAeriox(srv, "serve", env), spawnAeriox(srv, "worker", { ...env, WORKER_CONCURRENCY: "2" })]);
    const url = api.url!;
    const { key, workspace_id } = await srv.createKey();
    const prisma = srv.runtime.db.prisma;

    const sent: Array<{ at: number; o: Outcome }> = [];
    const traffic = load(async (i) => {
      const at = Date.now();
      const o = await call(url, "/v1/images/generate", { key, json: { model: "local/image", prompt: `redis ${i}`, resolution: "512x512" } });
      sent.push({ at, o });
      if (o.status === 503) await sleep(100); // a client backing off
      return o;
    }, 4);
    await until("a backlog in the queue", async () => (await prisma.job.count({ where: { workspaceId: workspace_id, status: "queued" } })) >= 30, 30_000, 100);

    redis.kill("SIGKILL");
    const down = Date.now();
    const queuedAtOutage = await prisma.job.count({ where: { workspaceId: workspace_id, status: { in: ["queued", "running"] } } });
    await sleep(OUTAGE_MS);
    redis = startRedis(port);
    await waitForPort(port);
    const up = Date.now();
    // Recovery without a restart: the same processes accept again.
    await until("a 202 after Redis is back", async () => sent.some((s) => s.at > up && s.o.status === 202), 30_000, 100);
    await sleep(1000);
    const outcomes = await traffic.stop();

    const t = tally(outcomes);
    const during = tally(sent.filter((s) => s.at > down + 500 && s.at < up - 500).map((s) => s.o));
    print(`[chaos]   client outcomes: ${JSON.stringify(t)}; sent during the outage: ${JSON.stringify(during)}; queued or running when Redis died: ${queuedAtOutage}`);
    expect(Object.keys(t).filter((k) => k !== "202" && k !== "503 queue_unavailable"), JSON.stringify(t)).toEqual([]);
    expect(Object.keys(during), JSON.stringify(during)).toEqual(["503 queue_unavailable"]);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();

    // Every accepted job completes (the lost ones re-enqueued by the reconciler); every refused one was failed and refunded.
    await allTerminal(srv, workspace_id, 120_000);
    const counts = await ledgerAudit(srv, workspace_id, "Redis stopped 5 s");
    expect(counts.completed).toBe(t["202"]);
    const failed = await prisma.job.findMany({ where: { workspaceId: workspace_id, status: "failed" }, select: { error: true } });
    expect(failed.length).toBe(t["503 queue_unavailable"]);
    expect(failed.filter((j) => (j.error as { error?: { code?: string } } | null)?.error?.code !== "queue_unavailable")).toEqual([]);
  }, 180_000);
});
