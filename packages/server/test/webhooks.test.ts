/**
 * Outbound job webhooks through HTTP (Standard Webhooks): a job with a webhook_url delivers a signed
 * job.completed event to a local receiver (the signature is checked here with node:crypto, independently
 * of the server's signing code); a receiver answering 500 gets a retry with the same webhook-id; endpoints
 * are created, listed, rotated (both signatures during the overlap) and deleted; deliveries are listed;
 * URLs that are not allowed are refused with 400 and never fetched. Runs on both deployments (PGlite +
 * in-process runner, or PostgreSQL + BullMQ when DATABASE_URL/REDIS_URL are set).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "./webhook-receiver.ts";
import { waitForJob } from "./polling.ts";

function signatureValid(w: ReceivedWebhook, secret: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const expected = createHmac("sha256", key).update(`${w.headers["webhook-id"]}.${w.headers["webhook-timestamp"]}.${w.body}`).digest();
  return (w.headers["webhook-signature"] ?? "").split(" ").some((part) => {
    const [version, sig] = part.split(",");
    const given = Buffer.from(sig ?? "", "base64");
    return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Delivery {
  id: string;
  webhook_id: string;
  endpoint_id: string | null;
  job_id: string;
  type: string;
  status: string;
  attempts: number;
  last_response_status: number | null;
  next_attempt_at: string | null;
  payload: { type: string; data: { job_id: string } } | null;
}

let srv: TestServer;
let receiver: WebhookReceiver;
let key: string;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  // Loopback receivers need FETCH_ALLOW_PRIVATE_NETWORKS (which also allows plain http); short back-off for the retry test.
  srv = await startTestServer({ env: { FETCH_ALLOW_PRIVATE_NETWORKS: "true", WEBHOOK_RETRY_BASE_MS: "300", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "50" } });
  key = (await srv.createKey()).key;
}, 60_000);

afterAll(async () => {
  await srv?.close();
  await receiver?.close();
});

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function deliveriesOfJob(k: string, jobId: string): Promise<Delivery[]> {
  return (await json<{ data: Delivery[] }>(await srv.request(`/v1/webhook-deliveries?job_id=${jobId}`, { key: k }), 200)).data;
}

async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("per-request webhook_url", () => {
  it("delivers a signed job.completed whose data is the Job as GET /v1/jobs/{id} returns it", async () => {
    const job = await json<{ job_id: string }>(
      await srv.request("/v1/images/generate", { key, method: "POST", json: { model: "local/image", prompt: "a hook", resolution: "64x64", webhook_url: `${receiver.url}/done` } }),
      202,
    );
    const [hit] = await receiver.waitFor((w) => w.path === "/done" && JSON.parse(w.body).data.job_id === job.job_id);
    const secret = (await json<{ secret: string }>(await srv.request("/v1/webhook-signing-secret", { key }), 200)).secret;
    expect(secret).toMatch(/^whsec_/);
    expect(signatureValid(hit!, secret)).toBe(true);
    expect(signatureValid(hit!, "whsec_" + Buffer.alloc(24, 1).toString("base64"))).toBe(false);
    expect(hit!.headers["webhook-id"]).toMatch(/^msg_/);
    expect(Math.abs(Number(hit!.headers["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(60);
    expect(hit!.headers["content-type"]).toMatch(/application\/json/);
    const event = JSON.parse(hit!.body) as { type: string; timestamp: string; data: Record<string, unknown> };
    expect(event.type).toBe("job.completed");
    expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);
    const polled = await waitForJob(srv, key, job.job_id);
    expect(event.data.status).toBe("completed");
    expect(event.data).toMatchObject({ job_id: polled.job_id, type: polled.type, status: polled.status, asset_ids: polled.asset_ids, charged_cost_usd: polled.charged_cost_usd });
    expect((event.data.output_urls as string[]).length).toBe(1);

    const [delivery] = await until(() => deliveriesOfJob(key, job.job_id), (d) => d[0]?.status === "delivered");
    expect(delivery).toMatchObject({ endpoint_id: null, type: "job.completed", status: "delivered", attempts: 1, last_response_status: 200, next_attempt_at: null, webhook_id: hit!.headers["webhook-id"] });
  });

  it("retries a receiver that answered 500 with the same webhook-id and the same body", async () => {
    receiver.plan("/flaky", [500, 200]);
    const job = await json<{ job_id: string }>(
      await srv.request("/v1/images/generate", { key, method: "POST", json: { model: "local/image", prompt: "retry me", resolution: "64x64", webhook_url: `${receiver.url}/flaky` } }),
      202,
    );
    const hits = await receiver.waitFor((w) => w.path === "/flaky", 2);
    expect(hits.map((h) => h.status)).toEqual([500, 200]);
    expect(hits[1]!.headers["webhook-id"]).toBe(hits[0]!.headers["webhook-id"]);
    expect(hits[1]!.body).toBe(hits[0]!.body);
    expect(JSON.parse(hits[0]!.body).data.job_id).toBe(job.job_id);
    const [delivery] = await until(() => deliveriesOfJob(key, job.job_id), (d) => d[0]?.status === "delivered");
    expect(delivery).toMatchObject({ attempts: 2, last_response_status: 200, status: "delivered" });
  });

  it("keeps a delivery whose receiver keeps failing pending, with its last status and next attempt", async () => {
    receiver.plan("/down", [503]);
    const job = await json<{ job_id: string }>(
      await srv.request("/v1/images/generate", { key, method: "POST", json: { model: "local/image", prompt: "down", resolution: "64x64", webhook_url: `${receiver.url}/down` } }),
      202,
    );
    await receiver.waitFor((w) => w.path === "/down", 2);
    const [delivery] = await until(() => deliveriesOfJob(key, job.job_id), (d) => (d[0]?.attempts ?? 0) >= 2 && d[0]?.next_attempt_at !== null);
    expect(delivery).toMatchObject({ status: "pending", last_response_status: 503 });
    expect(Date.parse(delivery!.next_attempt_at!)).toBeGreaterThan(Date.now() - 1000);
    const ids = new Set(receiver.received.filter((w) => w.path === "/down").map((w) => w.headers["webhook-id"]));
    expect([...ids]).toEqual([delivery!.webhook_id]);
  });

  it("sends start and completed when the filter asks for both, and nothing else", async () => {
    const job = await json<{ job_id: string }>(
      await srv.request("/v1/images/generate", { key, method: "POST", json: { model: "local/image", prompt: "both", resolution: "64x64", webhook_url: `${receiver.url}/both`, webhook_events_filter: ["start", "completed"] } }),
      202,
    );
    const hits = await receiver.waitFor((w) => w.path === "/both", 2);
    const types = hits.map((h) => JSON.parse(h.body) as { type: string; data: { status: string; job_id: string } });
    expect(types.map((t) => t.type).sort()).toEqual(["job.completed", "job.started"]);
    expect(types.find((t) => t.type === "job.started")!.data).toMatchObject({ job_id: job.job_id, status: "running" });
    expect(new Set(hits.map((h) => h.headers["webhook-id"])).size).toBe(2);
  });

  it("refuses bad webhook fields with 400 in the Error shape", async () => {
    const bad = async (extra: Record<string, unknown>, field: string) => {
      const res = await srv.request("/v1/images/generate", { key, method: "POST", json: { model: "local/image", prompt: "x", ...extra } });
      const body = await json<{ error: { code: string; details?: Record<string, unknown> } }>(res, 400);
      expect(JSON.stringify(body.error.details ?? {})).toContain(field);
      return body.error.code;
    };
    expect(await bad({ webhook_url: "ftp://example.com/x" }, "webhook_url")).toBe("invalid_webhook_url");
    // Link-local and metadata addresses stay refused even where private networks are allowed.
    expect(await bad({ webhook_url: "http://169.254.169.254/latest" }, "webhook_url")).toBe("invalid_webhook_url");
    expect(await bad({ webhook_url: "https://user:pw@example.com/" }, "webhook_url")).toBe("invalid_webhook_url");
    await bad({ webhook_url: "not a url" }, "webhook_url");
    await bad({ webhook_url: "https://example.com/x", webhook_events_filter: ["finished"] }, "webhook_events_filter");
    await bad({ webhook_events_filter: ["completed"] }, "webhook_events_filter");
  });
});

describe("webhook endpoints", () => {
  it("create (secret once), list, deliveries, rotate (both signatures), delete; scoped to the workspace and the admin scope", async () => {
    const { key: k } = await srv.createKey();
    const created = await json<{ id: string; secret: string; url: string; events: string[]; description: string | null }>(
      await srv.request("/v1/webhook-endpoints", { key: k, method: "POST", json: { url: `${receiver.url}/ep`, events: ["job.completed"], description: "test" } }),
      201,
    );
    expect(created.secret).toMatch(/^whsec_/);
    expect(created).toMatchObject({ url: `${receiver.url}/ep`, events: ["job.completed"], description: "test" });
    const listed = await json<{ data: Array<Record<string, unknown>> }>(await srv.request("/v1/webhook-endpoints", { key: k }), 200);
    expect(listed.data.map((e) => e.id)).toEqual([created.id]);
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    // Every job of the workspace goes to the endpoint, no webhook_url needed.
    const job1 = await json<{ job_id: string }>(await srv.request("/v1/images/generate", { key: k, method: "POST", json: { model: "local/image", prompt: "ep", resolution: "64x64" } }), 202);
    const [hit1] = await receiver.waitFor((w) => w.path === "/ep" && JSON.parse(w.body).data.job_id === job1.job_id);
    expect(signatureValid(hit1!, created.secret)).toBe(true);
    const deliveries = await until(
      async () => (await json<{ data: Delivery[] }>(await srv.request(`/v1/webhook-endpoints/${created.id}/deliveries?limit=10`, { key: k }), 200)).data,
      (d) => d[0]?.status === "delivered",
    );
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ endpoint_id: created.id, job_id: job1.job_id, type: "job.completed", attempts: 1, last_response_status: 200 });
    expect(deliveries[0]!.payload).toMatchObject({ type: "job.completed", data: { job_id: job1.job_id } });

    const rotated = await json<{ id: string; secret: string; previous_secret_expires_at: string }>(await srv.request(`/v1/webhook-endpoints/${created.id}/rotate-secret`, { key: k, method: "POST" }), 200);
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(created.secret);
    const overlap = Date.parse(rotated.previous_secret_expires_at) - Date.now();
    expect(overlap).toBeGreaterThan(23.9 * 3600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000);
    const job2 = await json<{ job_id: string }>(await srv.request("/v1/images/generate", { key: k, method: "POST", json: { model: "local/image", prompt: "ep2", resolution: "64x64" } }), 202);
    const [hit2] = await receiver.waitFor((w) => w.path === "/ep" && JSON.parse(w.body).data.job_id === job2.job_id);
    expect(hit2!.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
    expect(signatureValid(hit2!, rotated.secret)).toBe(true);
    expect(signatureValid(hit2!, created.secret)).toBe(true);

    // Another workspace sees none of it (404, never 403); a read-only key may not manage endpoints.
    const other = await srv.createKey();
    await json(await srv.request(`/v1/webhook-endpoints/${created.id}/deliveries`, { key: other.key }), 404);
    await json(await srv.request(`/v1/webhook-endpoints/${created.id}`, { key: other.key, method: "DELETE" }), 404);
    expect((await json<{ data: unknown[] }>(await srv.request("/v1/webhook-endpoints", { key: other.key }), 200)).data).toEqual([]);
    const reader = await srv.createKey({ scopes: ["read"] });
    const denied = await json<{ error: { code: string } }>(await srv.request("/v1/webhook-endpoints", { key: reader.key, method: "POST", json: { url: `${receiver.url}/x` } }), 403);
    expect(denied.error.code).toBe("insufficient_scope");

    const deleted = await json<{ id: string }>(await srv.request(`/v1/webhook-endpoints/${created.id}`, { key: k, method: "DELETE" }), 200);
    expect(deleted.id).toBe(created.id);
    await json(await srv.request(`/v1/webhook-endpoints/${created.id}`, { key: k, method: "DELETE" }), 404);
    await json(await srv.request(`/v1/webhook-endpoints/${created.id}/rotate-secret`, { key: k, method: "POST" }), 404);
    expect((await json<{ data: unknown[] }>(await srv.request("/v1/webhook-endpoints", { key: k }), 200)).data).toEqual([]);
  });

  it("refuses bad endpoint input with 4xx, never 500", async () => {
    const { key: k } = await srv.createKey();
    const code = async (path: string, init: Parameters<TestServer["request"]>[1], status: number) =>
      (await json<{ error: { code: string } }>(await srv.request(path, { key: k, ...init }), status)).error.code;
    expect(await code("/v1/webhook-endpoints", { method: "POST", json: { url: "gopher://example.com" } }, 400)).toBe("invalid_webhook_url");
    await code("/v1/webhook-endpoints", { method: "POST", json: {} }, 400);
    await code("/v1/webhook-endpoints", { method: "POST", json: { url: "https://example.com", events: ["job.exploded"] } }, 400);
    await code("/v1/webhook-endpoints", { method: "POST", json: { url: "https://example.com", extra: 1 } }, 400);
    await code("/v1/webhook-endpoints/not-a-uuid", { method: "DELETE" }, 400);
    await code("/v1/webhook-endpoints/00000000-0000-4000-8000-000000000000/deliveries?limit=0", {}, 400);
    await code("/v1/webhook-deliveries?job_id=nope", {}, 400);
  });

  it("rotates the workspace signing secret with a 24 h overlap", async () => {
    const { key: k } = await srv.createKey();
    const first = await json<{ secret: string; previous_secret_expires_at: string | null }>(await srv.request("/v1/webhook-signing-secret", { key: k }), 200);
    expect(first.previous_secret_expires_at).toBeNull();
    const again = await json<{ secret: string }>(await srv.request("/v1/webhook-signing-secret", { key: k }), 200);
    expect(again.secret).toBe(first.secret);
    const rotated = await json<{ secret: string; previous_secret_expires_at: string }>(await srv.request("/v1/webhook-signing-secret/rotate", { key: k, method: "POST" }), 200);
    expect(rotated.secret).not.toBe(first.secret);
    expect(Date.parse(rotated.previous_secret_expires_at)).toBeGreaterThan(Date.now() + 23.9 * 3600_000);
    const job = await json<{ job_id: string }>(
      await srv.request("/v1/images/generate", { key: k, method: "POST", json: { model: "local/image", prompt: "rot", resolution: "64x64", webhook_url: `${receiver.url}/rot` } }),
      202,
    );
    const [hit] = await receiver.waitFor((w) => w.path === "/rot" && JSON.parse(w.body).data.job_id === job.job_id);
    expect(signatureValid(hit!, rotated.secret)).toBe(true);
    expect(signatureValid(hit!, first.secret)).toBe(true);
  });
});

describe("a deployment that does not allow private networks", () => {
  let strict: TestServer;
  let strictKey: string;
  beforeAll(async () => {
    strict = await startTestServer();
    strictKey = (await strict.createKey()).key;
  }, 60_000);
  afterAll(async () => strict?.close());

  it("refuses webhook URLs to loopback, private and metadata addresses, and plain http, and fetches nothing", async () => {
    // The receiver is shared with the other tests, whose retries may still arrive: count only what was sent to /private.
    const toPrivate = () => receiver.received.filter((w) => w.path === "/private").length;
    const before = toPrivate();
    for (const url of [`${receiver.url}/private`, receiver.url.replace("http:", "https:") + "/private", "https://localhost/x", "https://10.0.0.1/x", "https://[::1]/x", "https://169.254.169.254/x", "http://example.com/x"]) {
      const res = await strict.request("/v1/images/generate", { key: strictKey, method: "POST", json: { model: "local/image", prompt: "x", webhook_url: url } });
      const body = await json<{ error: { code: string } }>(res, 400);
      expect(body.error.code, url).toBe("invalid_webhook_url");
      const ep = await strict.request("/v1/webhook-endpoints", { key: strictKey, method: "POST", json: { url } });
      expect((await json<{ error: { code: string } }>(ep, 400)).error.code, url).toBe("invalid_webhook_url");
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(toPrivate()).toBe(before);
  });
});

describe("retries end after WEBHOOK_RETRY_WINDOW_SECONDS", () => {
  let short: TestServer;
  beforeAll(async () => {
    short = await startTestServer({ env: { FETCH_ALLOW_PRIVATE_NETWORKS: "true", WEBHOOK_RETRY_BASE_MS: "200", WEBHOOK_RETRY_WINDOW_SECONDS: "2" } });
  }, 60_000);
  afterAll(async () => short?.close());

  it("marks the delivery failed once the next attempt would fall outside the window", async () => {
    const { key: k } = await short.createKey();
    receiver.plan("/never", [500]);
    const job = await json<{ job_id: string }>(
      await short.request("/v1/images/generate", { key: k, method: "POST", json: { model: "local/image", prompt: "never", resolution: "64x64", webhook_url: `${receiver.url}/never` } }),
      202,
    );
    const read = async () => (await json<{ data: Delivery[] }>(await short.request(`/v1/webhook-deliveries?job_id=${job.job_id}`, { key: k }), 200)).data;
    const [delivery] = await until(read, (d) => d[0]?.status === "failed");
    expect(delivery!.attempts).toBeGreaterThanOrEqual(2);
    expect(delivery).toMatchObject({ last_response_status: 500, next_attempt_at: null });
    const attempts = receiver.received.filter((w) => w.path === "/never" && JSON.parse(w.body).data.job_id === job.job_id);
    expect(attempts).toHaveLength(delivery!.attempts);
    await new Promise((r) => setTimeout(r, 1000));
    expect(receiver.received.filter((w) => w.path === "/never" && JSON.parse(w.body).data.job_id === job.job_id)).toHaveLength(delivery!.attempts);
  });
});
