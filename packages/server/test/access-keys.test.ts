/** API keys through HTTP: identity, scopes, management, rotation, rate limits, idempotency, secrecy. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

let srv: TestServer;
let admin: { key: string; key_id: string; workspace_id: string };

beforeAll(async () => {
  // Long enough that a loaded machine still sees the old key inside its grace period.
  srv = await startTestServer({ env: { KEY_ROTATION_GRACE_SECONDS: "3" } });
  admin = await srv.createKey({ workspace: "access-tests" });
});
afterAll(() => srv?.close());

const code = async (res: Response) => ((await res.json()) as { error: { code: string } }).error.code;

describe("GET /v1/me", () => {
  it("describes the workspace and the calling key, with Bearer or X-Api-Key", async () => {
    for (const headers of [{ authorization: `Bearer ${admin.key}` }, { "x-api-key": admin.key }] as Array<Record<string, string>>) {
      const res = await srv.request("/v1/me", { headers });
      expect(res.status).toBe(200);
      const me = (await res.json()) as { workspace: { id: string; name: string }; api_key: { prefix: string; scopes: string[]; daily_spend_cap_usd: number | null } };
      expect(me.workspace).toMatchObject({ id: admin.workspace_id, name: "access-tests" });
      expect(admin.key.startsWith(me.api_key.prefix)).toBe(true);
      expect(me.api_key.prefix.length).toBeLessThan(20);
      expect(me.api_key.scopes).toEqual(["generate", "read", "admin"]);
      expect(me.api_key.daily_spend_cap_usd).toBeNull();
    }
  });
});

describe("key management", () => {
  it("creates a key shown once, lists keys without secrets, and credits the trial only once", async () => {
    const res = await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: "ci", scopes: ["read"], daily_spend_cap_usd: 2.5 } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { key: string; key_id: string; scopes: string[]; daily_spend_cap_usd: number };
    expect(created.key).toMatch(/^sk_live_/);
    expect(created.scopes).toEqual(["read"]);
    expect(created.daily_spend_cap_usd).toBe(2.5);
    const list = await srv.request("/v1/api-keys", { key: admin.key });
    const text = await list.text();
    expect(text).not.toContain(created.key);
    expect(text).not.toContain(admin.key);
    expect((JSON.parse(text) as { data: Array<{ id: string }> }).data.map((k) => k.id)).toEqual(expect.arrayContaining([created.key_id, admin.key_id]));
    expect((await walletOf(srv, admin.key)).total_micros).toBe(5_000_000);
    const limited = await srv.request("/v1/wallet?limit=1", { key: admin.key });
    expect(limited.status).toBe(200);
    expect(((await limited.json()) as { recent_transactions: unknown[] }).recent_transactions).toHaveLength(1);
  });

  it("enforces scopes with 403 insufficient_scope", async () => {
    const reader = await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { scopes: ["read"] } })).json() as { key: string };
    const generator = await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { scopes: ["generate"] } })).json() as { key: string };
    const denied = await srv.request("/v1/api-keys", { method: "POST", key: reader.key, json: {} });
    expect(denied.status).toBe(403);
    expect(await code(denied)).toBe("insufficient_scope");
    const noGenerate = await srv.request("/v1/images/generate", { method: "POST", key: reader.key, json: { model: "local/image", prompt: "x" } });
    expect(noGenerate.status).toBe(403);
    const noRead = await srv.request("/v1/wallet", { key: generator.key });
    expect(noRead.status).toBe(403);
    expect((await srv.request("/v1/wallet", { key: reader.key })).status).toBe(200);
  });

  it("revokes: the key stops working at once; revoking again is 409", async () => {
    const victim = await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: {} })).json() as { key: string; key_id: string };
    expect((await srv.request("/v1/me", { key: victim.key })).status).toBe(200);
    const revoked = await srv.request(`/v1/api-keys/${victim.key_id}`, { method: "DELETE", key: admin.key });
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked_at: string }).revoked_at).toBeTruthy();
    expect((await srv.request("/v1/me", { key: victim.key })).status).toBe(401);
    const again = await srv.request(`/v1/api-keys/${victim.key_id}`, { method: "DELETE", key: admin.key });
    expect(again.status).toBe(409);
    expect(await code(again)).toBe("already_revoked");
  });

  it("rotates: new key works, old one until its grace period, then 401; no second rotation", async () => {
    const old = await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: "rotating" } })).json() as { key: string; key_id: string };
    const res = await srv.request(`/v1/api-keys/${old.key_id}/rotate`, { method: "POST", key: admin.key });
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { new_key: string; new_key_id: string; old_expires_at: string };
    expect(rotated.new_key).not.toBe(old.key);
    expect((await srv.request("/v1/me", { key: rotated.new_key })).status).toBe(200);
    expect((await srv.request("/v1/me", { key: old.key })).status).toBe(200);
    const twice = await srv.request(`/v1/api-keys/${old.key_id}/rotate`, { method: "POST", key: admin.key });
    expect(twice.status).toBe(409);
    await new Promise((r) => setTimeout(r, Date.parse(rotated.old_expires_at) - Date.now() + 100));
    expect((await srv.request("/v1/me", { key: old.key })).status).toBe(401);
    expect((await srv.request("/v1/me", { key: rotated.new_key })).status).toBe(200);
  });

  it("hides other workspaces' keys behind 404", async () => {
    const other = await srv.createKey();
    for (const [path, method] of [[`/v1/api-keys/${other.key_id}`, "DELETE"], [`/v1/api-keys/${other.key_id}/rotate`, "POST"]] as const) {
      const foreign = await srv.request(path, { method, key: admin.key });
      const missing = await srv.request(path.replace(other.key_id, "00000000-0000-4000-8000-000000000000"), { method, key: admin.key });
      expect(foreign.status).toBe(404);
      expect(await foreign.json()).toEqual(await missing.json());
    }
    expect((await srv.request("/v1/me", { key: other.key })).status).toBe(200);
  });
});

describe("rate limits", () => {
  it("answer 429 rate_limited with retry-after past the per-key limit", async () => {
    const limited = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "5" } });
    try {
      const { key } = await limited.createKey();
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 7; i++) {
        last = await limited.request("/v1/me", { key });
        statuses.push(last.status);
      }
      expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
      expect(statuses[6]).toBe(429);
      const retryAfter = Number(last!.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(await code(last!)).toBe("rate_limited");
      // another key has its own budget
      const other = await limited.createKey();
      expect((await limited.request("/v1/me", { key: other.key })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe("Idempotency-Key", () => {
  it("replays the first response and charges once; a different body is 409", async () => {
    const { key } = await srv.createKey();
    const before = await walletOf(srv, key);
    const send = (prompt: string) =>
      srv.request("/v1/images/generate", { method: "POST", key, headers: { "idempotency-key": "order-42" }, json: { model: "local/image", prompt } });
    const first = await send("a kite");
    expect(first.status).toBe(202);
    const job = (await first.json()) as JobBody;
    const second = await send("a kite");
    expect(second.status).toBe(202);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(((await second.json()) as JobBody).job_id).toBe(job.job_id);
    const conflict = await send("a different kite");
    expect(conflict.status).toBe(409);
    expect(await code(conflict)).toBe("idempotency_key_reused");
    const done = await waitForJob(srv, key, job.job_id);
    const after = await walletOf(srv, key);
    expect(before.available_micros - after.available_micros).toBe(Math.round(done.charged_cost_usd! * 1e6));
  });

  it("does not keep failures: a retry after a 402 does the work", async () => {
    const { key, workspace_id } = await srv.createKey();
    await srv.runtime.db.prisma.$executeRaw`UPDATE wallets SET reserved_micros = balance_micros WHERE workspace_id = ${workspace_id}::uuid`;
    const send = () => srv.request("/v1/images/generate", { method: "POST", key, headers: { "idempotency-key": "retry-me" }, json: { model: "local/image", prompt: "x" } });
    expect((await send()).status).toBe(402);
    await srv.runtime.db.prisma.$executeRaw`UPDATE wallets SET reserved_micros = 0 WHERE workspace_id = ${workspace_id}::uuid`;
    const retried = await send();
    expect(retried.status).toBe(202);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
    await waitForJob(srv, key, ((await retried.json()) as JobBody).job_id);
  });
});

describe("secrets", () => {
  it("never appear in logs", async () => {
    await srv.request("/v1/me", { key: admin.key });
    await srv.request("/v1/me", { key: admin.key + "tampered" });
    const logs = srv.logs.join("");
    expect(logs).not.toContain(admin.key);
    expect(logs).not.toMatch(/sk_live_[A-Za-z0-9_-]{20,}/);
  });
});
