/**
 * Fair scheduling across workspaces inside a provider lane (ARCHITECTURE.md, Jobs),
 * through HTTP on either transport (in-process runner, or BullMQ when REDIS_URL is
 * set). Jobs go to fal, answered by msw: how long a job runs is the number of
 * status polls before COMPLETED, and the order in which fal receives submits is
 * the order in which jobs started, which is what these tests assert.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { falHandlers, type FalStatus } from "@aeriox/core/testing/msw";
import { BreakerRegistry } from "@aeriox/core/providers";
import { defaultWorkspaceConcurrency } from "@aeriox/core/jobs";
import { laneConcurrency } from "@aeriox/core/jobs/bullmq";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";

const WORKER_CONCURRENCY = 2;
const fal = falHandlers();
const mocks = setupServer(...fal.handlers);

let srv: TestServer;
/** The lane's slots in this deployment (the runner's concurrency, or one BullMQ worker's fal lane) and one workspace's cap. */
let lane: number;
let cap: number;
/** Every job a test submitted, cancelled after it so the next test finds an idle lane. */
let submitted: Array<{ key: string; id: string }> = [];

beforeAll(async () => {
  mocks.listen({
    onUnhandledRequest(request, print) {
      if (!["127.0.0.1", "localhost"].includes(new URL(request.url).hostname)) print.error();
    },
  });
  srv = await startTestServer({
    env: { FAL_KEY: "fal-test-key", WORKER_CONCURRENCY: String(WORKER_CONCURRENCY), MAX_INFLIGHT_JOBS_PER_WORKSPACE: "100" },
    providers: { fal: { pollIntervalMs: 50 }, breakers: new BreakerRegistry({ failureThreshold: 1000, windowMs: 60_000, coolDownMs: 1000 }) },
  });
  lane = srv.config.queueKind === "bullmq" ? laneConcurrency("fal", WORKER_CONCURRENCY / 8) : WORKER_CONCURRENCY;
  cap = defaultWorkspaceConcurrency(lane);
}, 60_000);
afterEach(async () => {
  const statuses = await Promise.all(submitted.map(({ key, id }) => srv.request(`/v1/jobs/${id}`, { method: "DELETE", key }).then((res) => res.status)));
  expect(statuses.filter((status) => status !== 200 && status !== 409)).toEqual([]);
  submitted = [];
  await until(async () => (await srv.runtime.db.prisma.job.count({ where: { status: "running" } })) === 0, "cancelled jobs to stop");
  fal.reset();
});
afterAll(async () => {
  await srv?.close();
  mocks.close();
});

/** Jobs run for `polls` status polls (about 50 ms each) before fal answers COMPLETED; Infinity never completes. */
function jobsTake(polls: number): void {
  const statuses: FalStatus[] = polls === Infinity ? ["IN_PROGRESS"] : [...Array<FalStatus>(polls).fill("IN_PROGRESS"), "COMPLETED"];
  fal.set({ statuses });
}

async function submit(key: string, tag: string): Promise<string> {
  const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "fal-ai/flux/schnell", prompt: tag } });
  expect(res.status, await res.clone().text()).toBe(202);
  const id = ((await res.json()) as JobBody).job_id;
  submitted.push({ key, id });
  return id;
}

/** Workspace tags of the jobs fal has received, in the order they started. */
const started = () => fal.stats.submitted.map((r) => String(r.input.prompt).split(" ")[0]!);

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const countJobs = (workspaceId: string, status: "queued" | "running") => srv.runtime.db.prisma.job.count({ where: { workspaceId, status } });

describe("fair scheduling across workspaces in a provider lane", () => {
  it("a workspace that queues 50 slow jobs delays another's job by at most one round of the lane", async () => {
    jobsTake(10);
    const a = await srv.createKey();
    const b = await srv.createKey();
    for (let batch = 0; batch < 5; batch++) await Promise.all(Array.from({ length: 10 }, (_, i) => submit(a.key, `A ${batch * 10 + i}`)));

    const before = started().length;
    const bJob = await submit(b.key, "B 0");
    await until(() => started().includes("B"), "B's job to start");
    const aQueuedWhenBStarted = await countJobs(a.workspace_id, "queued");

    const order = started();
    const aStartedMeanwhile = order.slice(before, order.indexOf("B")).filter((w) => w === "A").length;
    // First come, first served would have started all of A's backlog first.
    expect(aStartedMeanwhile).toBeLessThanOrEqual(lane);
    expect(aQueuedWhenBStarted).toBeGreaterThan(lane);
    expect((await waitForJob(srv, b.key, bJob)).status).toBe("completed");
  }, 60_000);

  it("three workspaces that queue at once are served round-robin", async () => {
    const perWorkspace = 10;
    // Other workspaces fill every slot of the lane first, so A, B and C all queue before any of theirs starts.
    jobsTake(Infinity);
    for (let filled = 0; filled < lane; ) {
      const blocker = await srv.createKey();
      for (let i = 0; i < cap && filled < lane; i++, filled++) await submit(blocker.key, `Z ${filled}`);
    }
    await until(() => started().length === lane, "the lane to fill");
    const keys = { A: await srv.createKey(), B: await srv.createKey(), C: await srv.createKey() };
    const ids: Array<[string, string]> = [];
    for (const [tag, k] of Object.entries(keys)) for (let i = 0; i < perWorkspace; i++) ids.push([k.key, await submit(k.key, `${tag} ${i}`)]);
    jobsTake(2);
    for (const [key, id] of ids) expect((await waitForJob(srv, key, id)).status).toBe("completed");

    const order = started().filter((tag) => tag !== "Z");
    expect(order).toHaveLength(3 * perWorkspace);
    const counts: Record<string, number> = { A: 0, B: 0, C: 0 };
    let widestGap = 0;
    for (const tag of order) {
      counts[tag]! += 1;
      const values = Object.values(counts);
      if (values.every((n) => n < perWorkspace)) widestGap = Math.max(widestGap, Math.max(...values) - Math.min(...values));
    }
    // Round-robin keeps the three within one round of the lane of each other (jobs starting at the same
    // moment may reach the provider in either order); first come, first served would start 9 of A's first.
    expect(widestGap, order.join("")).toBeLessThanOrEqual(Math.min(lane, perWorkspace - 2));
    for (const k of Object.values(keys)) expect((await auditWallet(srv.runtime.db, k.workspace_id)).problems).toEqual([]);
  }, 60_000);

  it("a workspace alone never runs more than its cap: the other slots stay free for newcomers", async () => {
    expect(cap).toBeLessThan(lane);
    jobsTake(Infinity);
    const a = await srv.createKey();
    const b = await srv.createKey();
    const aJobs: string[] = [];
    for (let i = 0; i < lane + 2; i++) aJobs.push(await submit(a.key, `A ${i}`));
    await until(() => started().length >= cap, "A to fill its cap");

    const bJob = await submit(b.key, "B 0");
    await until(() => started().includes("B"), "B's job to start in a slot A left idle");
    expect(started().filter((w) => w === "A")).toHaveLength(cap);
    expect(await countJobs(a.workspace_id, "running")).toBe(cap);
    expect(await countJobs(a.workspace_id, "queued")).toBe(lane + 2 - cap);

    jobsTake(0);
    for (const id of aJobs) expect((await waitForJob(srv, a.key, id)).status).toBe("completed");
    expect((await waitForJob(srv, b.key, bJob)).status).toBe("completed");
    expect((await auditWallet(srv.runtime.db, a.workspace_id)).problems).toEqual([]);
  }, 60_000);
});
