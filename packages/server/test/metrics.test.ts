/**
 * GET /metrics through HTTP: the token requirement, and that requests, jobs (one
 * completed, one failed), provider calls, money and rate limits move the right series,
 * labelled by operationId and never by a raw path or id. USD counters are held to the
 * ledger and the holds table.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";

const TOKEN = "metrics-token-for-tests-0123456789";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and (at least) these labels; 0 when absent. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(labels)}: ${found.length} samples`).toBeLessThanOrEqual(1);
  return found[0]?.value ?? 0;
}

async function scrape(srv: TestServer, token: string | null = TOKEN): Promise<Sample[]> {
  const res = await fetch(`${srv.url}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return parse(await res.text());
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe("GET /metrics with METRICS_TOKEN", () => {
  let srv: TestServer;
  let key: string;
  let workspaceId: string;

  beforeAll(async () => {
    srv = await startTestServer({ env: { METRICS_TOKEN: TOKEN } });
    ({ key, workspace_id: workspaceId } = await srv.createKey());
  });
  afterAll(() => srv?.close());

  it("answers 401 in the Error shape without the token or with another, 200 with it", async () => {
    const attempts: Array<Record<string, string>> = [{}, { authorization: "Bearer not-the-token-at-all-000000" }, { authorization: `Basic ${TOKEN}` }, { "x-api-key": TOKEN }, { authorization: `Bearer ${key}` }];
    for (const headers of attempts) {
      const res = await fetch(`${srv.url}/metrics`, { headers });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toContain("Bearer");
      expect(await res.json()).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
    }
    const ok = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    const body = await ok.text();
    expect(body).toContain("# TYPE aeriox_http_request_duration_seconds histogram");
    // Default Node process metrics, from this runtime's own registry.
    expect(body).toContain("process_cpu_user_seconds_total");
    expect(body).toContain("nodejs_eventloop_lag_seconds");
  });

  it("moves request, job, provider and wallet series after a few requests, a completed and a failed job", async () => {
    const before = await scrape(srv);
    const http = (s: Sample[], operation: string, status: string) => value(s, "aeriox_http_request_duration_seconds_count", { operation, status });

    for (let i = 0; i < 3; i++) expect((await srv.request("/v1/wallet", { key })).status).toBe(200);
    expect((await srv.request(`/v1/jobs/${crypto.randomUUID()}`, { key })).status).toBe(404);
    expect((await srv.request("/v1/wallet")).status).toBe(401);
    expect((await srv.request(`/no/such/route/${crypto.randomUUID()}?token=abc`)).status).toBe(404);

    const submit = async (body: unknown) => {
      const res = await srv.request("/v1/images/generate", { method: "POST", key, json: body });
      expect(res.status).toBe(202);
      return waitForJob(srv, key, ((await res.json()) as JobBody).job_id);
    };
    const done = await submit({ model: "local/image", prompt: "a lighthouse at dusk", seed: 1 });
    expect(done.status).toBe("completed");
    // A seed image on a private address is refused by the outbound guard: a client failure, refunded.
    const failed = await submit({ model: "local/image", prompt: "the secret prompt text", seed: 2, seed_image_url: "http://127.0.0.1:9/seed.png" });
    expect(failed.status).toBe("failed");
    const failCode = failed.error!.error.code;

    const after = await scrape(srv);
    // HTTP: labelled by operationId and status; rejected and unmatched requests too.
    expect(http(after, "getWallet", "200") - http(before, "getWallet", "200")).toBe(3);
    expect(http(after, "getJob", "404") - http(before, "getJob", "404")).toBe(1);
    expect(http(after, "getWallet", "401") - http(before, "getWallet", "401")).toBe(1);
    expect(http(after, "unmatched", "404") - http(before, "unmatched", "404")).toBe(1);
    expect(http(after, "generateImage", "202") - http(before, "generateImage", "202")).toBe(2);
    expect(http(after, "metrics", "200")).toBeGreaterThanOrEqual(1);
    const getWalletSum = value(after, "aeriox_http_request_duration_seconds_sum", { operation: "getWallet", status: "200" });
    expect(getWalletSum).toBeGreaterThan(0);
    expect(value(after, "aeriox_http_request_duration_seconds_bucket", { operation: "getWallet", status: "200", le: "+Inf" })).toBe(http(after, "getWallet", "200"));

    // No raw path or id ever becomes a label value: bounded cardinality.
    for (const s of after) {
      for (const [name, v] of Object.entries(s.labels)) {
        expect(v, `${s.name} ${name}`).not.toMatch(UUID);
        expect(v, `${s.name} ${name}`).not.toContain("/");
        expect(v, `${s.name} ${name}`).not.toContain(workspaceId);
      }
    }
    const operations = new Set(after.filter((s) => s.name === "aeriox_http_request_duration_seconds_count").map((s) => s.labels.operation));
    for (const op of operations) expect(op).toMatch(/^(unmatched|metrics|[a-z][A-Za-z0-9]+)$/);

    // Jobs: terminal transitions, wait and run times, nothing left queued or running.
    expect(value(after, "aeriox_jobs_finished_total", { type: "image", state: "completed" })).toBe(1);
    expect(value(after, "aeriox_jobs_finished_total", { type: "image", state: "failed" })).toBe(1);
    expect(value(after, "aeriox_jobs_finished_total", { type: "video", state: "completed" })).toBe(0);
    expect(value(after, "aeriox_job_wait_seconds_count", { type: "image" })).toBe(2);
    expect(value(after, "aeriox_job_run_seconds_count", { type: "image", state: "completed" })).toBe(1);
    expect(value(after, "aeriox_job_run_seconds_count", { type: "image", state: "failed" })).toBe(1);
    expect(after.some((s) => s.name === "aeriox_jobs" && s.labels.type === "image" && s.labels.state === "queued")).toBe(true);
    expect(value(after, "aeriox_jobs", { type: "image", state: "queued" }) + value(after, "aeriox_jobs", { type: "image", state: "running" })).toBe(0);
    expect(value(after, "aeriox_queue_jobs", { lane: "local", state: "active" })).toBe(0);
    expect(after.some((s) => s.name === "aeriox_queue_jobs" && s.labels.lane === "fal")).toBe(true);

    // Providers: one success, one client error; the circuit stays closed.
    expect(value(after, "aeriox_provider_calls_total", { provider: "local", outcome: "ok" })).toBe(1);
    expect(value(after, "aeriox_provider_calls_total", { provider: "local", outcome: "error" })).toBe(1);
    expect(value(after, "aeriox_provider_errors_total", { provider: "local", kind: "client" })).toBe(1);
    expect(value(after, "aeriox_provider_circuit_state", { provider: "local" })).toBe(0);
    expect(after.some((s) => s.name === "aeriox_provider_circuit_state" && s.labels.provider === "fal")).toBe(true);

    // Money: counts, and USD equal to what the ledger and the holds say.
    const [money] = await srv.runtime.db.query<{ reserved: bigint; captured: bigint; released: bigint; ledger_captured: bigint }>(
      `SELECT (SELECT COALESCE(SUM(amount_micros), 0) FROM holds)::bigint AS reserved,
              (SELECT COALESCE(SUM(captured_micros), 0) FROM holds WHERE status = 'captured')::bigint AS captured,
              (SELECT COALESCE(SUM(amount_micros - COALESCE(captured_micros, 0)), 0) FROM holds WHERE status <> 'held')::bigint AS released,
              (SELECT -COALESCE(SUM(amount_micros), 0) FROM ledger_entries WHERE kind = 'capture')::bigint AS ledger_captured`,
      [],
    );
    expect(value(after, "aeriox_wallet_reservations_total")).toBe(2);
    expect(value(after, "aeriox_wallet_captures_total")).toBe(1);
    expect(value(after, "aeriox_wallet_releases_total")).toBe(1);
    expect(money!.ledger_captured).toBe(money!.captured);
    expect(money!.captured).toBeGreaterThan(0n);
    expect(value(after, "aeriox_wallet_reserved_usd_total")).toBe(Number(money!.reserved) / 1e6);
    expect(value(after, "aeriox_wallet_captured_usd_total")).toBe(Number(money!.ledger_captured) / 1e6);
    expect(value(after, "aeriox_wallet_captured_usd_total")).toBe(done.charged_cost_usd);
    expect(value(after, "aeriox_wallet_released_usd_total")).toBe(Number(money!.released) / 1e6);

    // Logs: one line per request with operationId, workspace, status, duration; one line for the failed job, without its prompt.
    const lines = srv.logs.map((l) => JSON.parse(l) as Record<string, unknown>);
    const walletLine = lines.find((l) => l.msg === "request" && l.operationId === "getWallet" && l.status === 200);
    expect(walletLine).toMatchObject({ requestId: expect.any(String), workspaceId, ms: expect.any(Number) });
    expect(walletLine).not.toHaveProperty("path");
    const unmatched = lines.find((l) => l.msg === "request" && l.operationId === "unmatched");
    expect(unmatched).toMatchObject({ status: 404, method: "GET", path: expect.stringMatching(/^\/no\/such\/route\//) });
    expect(JSON.stringify(unmatched)).not.toContain("token=abc");
    const failLines = lines.filter((l) => l.msg === "job failed");
    expect(failLines).toEqual([expect.objectContaining({ jobId: failed.job_id, type: "image", model: "local/image", provider: "local", code: failCode })]);
    expect(srv.logs.filter((l) => l.includes("the secret prompt text"))).toEqual([]);
  });
});

describe("GET /metrics without METRICS_TOKEN", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "2" } });
  });
  afterAll(() => srv?.close());

  it("is public, and counts the 429s a key's rate limit produces", async () => {
    const { key } = await srv.createKey();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await srv.request("/v1/wallet", { key })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    const samples = await scrape(srv, null);
    expect(value(samples, "aeriox_rate_limit_rejections_total", { bucket: "key" })).toBe(2);
    expect(value(samples, "aeriox_http_request_duration_seconds_count", { operation: "getWallet", status: "429" })).toBe(2);
  });
});
