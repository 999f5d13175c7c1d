/**
 * The hot path's shortcuts keep behaviour: local/echo runs the whole paid path with no
 * work; a cancel reaches the running job at once (job-ended signal, not the row poll);
 * the cached /v1/pricing body is the one the handler would build.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("local/echo", () => {
  let srv: TestServer;
  let key: string;
  let workspaceId: string;
  beforeAll(async () => {
    srv = await startTestServer();
    ({ key, workspace_id: workspaceId } = await srv.createKey());
  });
  afterAll(() => srv?.close());

  it("completes at once with a 1x1 PNG, charged $0.000001 through hold, capture and ledger", async () => {
    const before = await walletOf(srv, key);
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/echo", prompt: "ping" } });
    expect(res.status).toBe(202);
    const job = await waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    expect(job.status).toBe("completed");
    expect(job.charged_cost_usd).toBe(0.000001);
    const png = Buffer.from(await (await fetch(job.output_urls![0]!)).arrayBuffer());
    expect(png.subarray(0, 8).toString("hex")).toBe("89504e470d0a1a0a");
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1, 1]);
    expect((await walletOf(srv, key)).available_micros).toBe(before.available_micros - 1);
    expect((await auditWallet(srv.runtime.db, workspaceId)).problems).toEqual([]);
  });

  it("is listed in the pricing catalog as a local image model", async () => {
    const pricing = (await (await fetch(`${srv.url}/v1/pricing`)).json()) as { operations: Array<{ model: string; provider: string; price_usd_micros: number; available: boolean }> };
    expect(pricing.operations.find((o) => o.model === "local/echo")).toMatchObject({ provider: "local", price_usd_micros: 1, available: true });
  });
});

describe("a cancel while the job runs", () => {
  let srv: TestServer;
  let key: string;
  beforeAll(async () => {
    // One render thread: the next job can render only once the cancelled one's thread was ended.
    srv = await startTestServer({ env: { RENDER_THREADS: "1" } });
    ({ key } = await srv.createKey());
  });
  afterAll(() => srv?.close());

  it("stops the running render: the cancelled job's provider call ends aborted, and the next job gets the one thread", async () => {
    const res = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "big fox", resolution: "4096x4096" } });
    const id = ((await res.json()) as JobBody).job_id;
    for (;;) {
      const job = (await (await srv.request(`/v1/jobs/${id}`, { key })).json()) as JobBody;
      if (job.status === "running") break;
      await sleep(10);
    }
    expect((await srv.request(`/v1/jobs/${id}`, { method: "DELETE", key })).status).toBe(200);
    const next = await srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "small fox", resolution: "64x64" } });
    const done = await waitForJob(srv, key, ((await next.json()) as JobBody).job_id, 60_000);
    expect(done.status).toBe("completed");
    // Not timed (a loaded machine makes any bound flaky): the big render was ended, not waited
    // for. Had it run to its end, its call would count as a second `ok`; it counts as one
    // aborted call (an error of kind `timeout`, code `aborted`), and the job stays cancelled.
    const text = (await srv.jobsRuntime.metrics.scrape()).body;
    const sample = (name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
    expect(sample("aeriox_provider_calls_total", 'provider="local",outcome="ok"')).toBe(1);
    expect(sample("aeriox_provider_calls_total", 'provider="local",outcome="error"')).toBe(1);
    expect(sample("aeriox_provider_errors_total", 'provider="local",kind="timeout"')).toBe(1);
    expect(((await (await srv.request(`/v1/jobs/${id}`, { key })).json()) as JobBody).status).toBe("cancelled");
  }, 90_000);
});

describe("GET /v1/pricing without response validation (production)", () => {
  let validated: TestServer;
  let production: TestServer;
  beforeAll(async () => {
    [validated, production] = await Promise.all([startTestServer(), startTestServer({ env: { RESPONSE_VALIDATION: "false" } })]);
  });
  afterAll(async () => {
    await Promise.all([validated?.close(), production?.close()]);
  });

  it("answers the same body, generated now, from its cache", async () => {
    const read = async (srv: TestServer) => {
      const res = await fetch(`${srv.url}/v1/pricing`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      return (await res.json()) as Record<string, unknown>;
    };
    const { generated_at: first, ...expected } = await read(validated);
    const before = Date.now();
    await read(production);
    const { generated_at: cached, ...body } = await read(production);
    expect(body).toEqual(expected);
    expect(typeof first).toBe("string");
    expect(Date.parse(cached as string)).toBeGreaterThanOrEqual(before - 1000);
  });
});
