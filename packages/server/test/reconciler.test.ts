/**
 * The safety net behind the queue: a job past its deadline is failed and refunded;
 * a queued job that no queue holds (lost on a restart) is enqueued again and runs.
 * Redis that may evict keys is refused at start-up.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcileOnce } from "@aeriox/core/jobs";
import { reserve, auditWallet } from "@aeriox/core/wallet";
import { assertNoEviction, connectRedis } from "@aeriox/core/bootstrap";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(() => srv?.close());

describe("reconciler", () => {
  it("fails and refunds a job past its deadline", async () => {
    const { key, workspace_id } = await srv.createKey();
    const before = await walletOf(srv, key);
    const res = await srv.request("/v1/videos/generate", { method: "POST", key, json: { model: "local/video", prompt: "slow", duration_s: 30 } });
    const { job_id } = (await res.json()) as JobBody;
    await srv.runtime.db.prisma.job.update({ where: { id: job_id }, data: { deadlineAt: new Date(Date.now() - 1000) } });
    const { expired } = await reconcileOnce(srv.runtime);
    expect(expired).toBeGreaterThanOrEqual(1);
    const job = await waitForJob(srv, key, job_id);
    expect(job.status).toBe("failed");
    expect(job.error!.error.code).toBe("deadline_exceeded");
    expect(await walletOf(srv, key)).toEqual(before);
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
  });

  it("enqueues a queued job that no queue holds, and it completes", async () => {
    const { key, workspace_id } = await srv.createKey();
    const entry = srv.runtime.catalog.byModel("local/image")!;
    // A job accepted (row + reservation committed) by a process that died before enqueueing.
    const job = await srv.runtime.db.prisma.$transaction(async (tx) => {
      const created = await tx.job.create({
        data: {
          workspaceId: workspace_id,
          type: "image",
          model: "local/image",
          operationId: entry.operationId,
          provider: entry.provider,
          input: { model: "local/image", prompt: "orphan" },
          estimatedCostMicros: entry.priceMicros,
          deadlineAt: new Date(Date.now() + 600_000),
          updatedAt: new Date(Date.now() - 60_000),
        },
      });
      await reserve(tx, { workspaceId: workspace_id, jobId: created.id, amountMicros: entry.priceMicros });
      return created;
    });
    const { requeued } = await reconcileOnce(srv.runtime);
    expect(requeued).toBeGreaterThanOrEqual(1);
    const done = await waitForJob(srv, key, job.id);
    expect(done.status).toBe("completed");
    expect((await auditWallet(srv.runtime.db, workspace_id)).problems).toEqual([]);
  });
});

describe("Redis eviction policy", () => {
  it("refuses a Redis that may evict keys", async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "allkeys-lru"], { stdio: "ignore" });
    try {
      let client;
      for (let i = 0; i < 50 && !client; i++) {
        client = await connectRedis(`redis://127.0.0.1:${port}`).catch(() => undefined);
        if (!client) await new Promise((r) => setTimeout(r, 100));
      }
      expect(client).toBeDefined();
      await expect(assertNoEviction(client!)).rejects.toThrow(/maxmemory-policy is 'allkeys-lru'.*noeviction/);
      client!.disconnect();
    } finally {
      redis.kill("SIGKILL");
    }
  });
});
