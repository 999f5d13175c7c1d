/**
 * Budgets per key (issue #14) through HTTP: POST /v1/api-keys creates a key with them and
 * PATCH /v1/api-keys/{id} changes name, scopes, daily cap, monthly budget and allowed models,
 * both never beyond the caller's own (omitted on create: the caller's); the monthly
 * budget refuses at the edge with 402 `key_budget_exceeded`, atomically with the hold (50
 * concurrent submits never overspend it), and a refunded job gives its hold back; a model
 * outside the allow-list is 403 `model_not_allowed` with nothing reserved. Runs on both
 * deployments (PGlite + in-process runner; PostgreSQL + Redis/BullMQ with DATABASE_URL/REDIS_URL).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { auditWallet } from "@aeriox/core/wallet";
import { runAdminCommand } from "@aeriox/core/admin";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";

interface ApiKeyBody {
  id: string;
  name: string | null;
  scopes: string[];
  daily_spend_cap_usd: number | null;
  monthly_budget_usd: number | null;
  monthly_spent_usd: number;
  monthly_budget_resets_at: string;
  allowed_models: string[] | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ env: { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "200", RATE_LIMIT_PER_MINUTE: "100000" } });
});
afterAll(() => srv?.close());

const patch = (key: string, id: string, json: unknown) => srv.request(`/v1/api-keys/${id}`, { method: "PATCH", key, json });
const echo = (key: string) => srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/echo", prompt: "ping" } });
async function keyView(key: string, id: string): Promise<ApiKeyBody> {
  const res = await srv.request("/v1/api-keys", { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { data: ApiKeyBody[] }).data.find((k) => k.id === id)!;
}
async function expectError(res: Response, status: number, code: string): Promise<ErrorBody["error"]> {
  const body = (await res.json()) as ErrorBody;
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  return body.error;
}

describe("PATCH /v1/api-keys/{id}", () => {
  let admin: { key: string; key_id: string; workspace_id: string };
  beforeAll(async () => {
    admin = await srv.createKey();
  });

  it("changes each field, canonicalises model aliases, and null clears a limit", async () => {
    const created = (await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: "ci" } })).json()) as { key_id: string };
    const id = created.key_id;
    const fresh = await keyView(admin.key, id);
    expect(fresh).toMatchObject({ name: "ci", scopes: ["generate", "read", "admin"], daily_spend_cap_usd: null, monthly_budget_usd: null, monthly_spent_usd: 0, allowed_models: null });
    const now = new Date();
    expect(fresh.monthly_budget_resets_at).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString());

    let res = await patch(admin.key, id, { name: "nightly" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as ApiKeyBody).name).toBe("nightly");
    res = await patch(admin.key, id, { scopes: ["read", "generate"] });
    expect(((await res.json()) as ApiKeyBody).scopes).toEqual(["generate", "read"]);
    res = await patch(admin.key, id, { daily_spend_cap_usd: 2.5 });
    expect(((await res.json()) as ApiKeyBody).daily_spend_cap_usd).toBe(2.5);
    res = await patch(admin.key, id, { monthly_budget_usd: 12.345678 });
    expect(((await res.json()) as ApiKeyBody).monthly_budget_usd).toBe(12.345678);
    // An alias is stored as the catalog id; repeats collapse.
    res = await patch(admin.key, id, { allowed_models: ["local/echo", "fal-ai/kling-3.0", "local/echo"] });
    expect(((await res.json()) as ApiKeyBody).allowed_models).toEqual(["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"]);

    // The list shows what PATCH answered, and omitted fields stayed.
    expect(await keyView(admin.key, id)).toMatchObject({
      name: "nightly",
      scopes: ["generate", "read"],
      daily_spend_cap_usd: 2.5,
      monthly_budget_usd: 12.345678,
      allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"],
    });

    res = await patch(admin.key, id, { name: null, daily_spend_cap_usd: null, monthly_budget_usd: null, allowed_models: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: null, scopes: ["generate", "read"], daily_spend_cap_usd: null, monthly_budget_usd: null, allowed_models: null });
  });

  it("refuses bad input with 400 in the Error shape, never 500", async () => {
    const { key_id: id } = (await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: {} })).json()) as { key_id: string };
    const unknown = await expectError(await patch(admin.key, id, { allowed_models: ["local/echo", "no-such/model"] }), 400, "unknown_model");
    expect(unknown.details?.fields).toEqual([expect.objectContaining({ field: "body.allowed_models[1]" })]);
    await expectError(await patch(admin.key, id, { monthly_budget_usd: 1.0000001 }), 400, "invalid_request");
    const cases: unknown[] = [
      {},
      { monthly_budget_usd: -1 },
      { monthly_budget_usd: "10" },
      { monthly_budget_usd: 1e7 },
      { daily_spend_cap_usd: 0.0000001 },
      { allowed_models: [] },
      { allowed_models: [""] },
      { allowed_models: "local/echo" },
      { scopes: [] },
      { scopes: ["root"] },
      { name: "" },
      { key: "sk_live_x" },
    ];
    for (const body of cases) {
      const res = await patch(admin.key, id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code).toMatch(/^[a-z_]+$/);
    }
    await expectError(await srv.request("/v1/api-keys/not-a-uuid", { method: "PATCH", key: admin.key, json: { name: "x" } }), 400, "invalid_request");
    await expectError(await srv.request(`/v1/api-keys/${id}`, { method: "PATCH", key: admin.key, body: "{", headers: { "content-type": "application/json" } }), 400, "invalid_json");
    // Nothing changed.
    expect(await keyView(admin.key, id)).toMatchObject({ monthly_budget_usd: null, allowed_models: null, scopes: ["generate", "read", "admin"] });
  });

  it("404 for an unknown key or another workspace's; 409 key_revoked for a revoked key", async () => {
    await expectError(await patch(admin.key, randomUUID(), { name: "x" }), 404, "not_found");
    const other = await srv.createKey();
    await expectError(await patch(admin.key, other.key_id, { name: "mine now" }), 404, "not_found");
    const { key_id: id } = (await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: {} })).json()) as { key_id: string };
    expect((await srv.request(`/v1/api-keys/${id}`, { method: "DELETE", key: admin.key })).status).toBe(200);
    await expectError(await patch(admin.key, id, { monthly_budget_usd: 1 }), 409, "key_revoked");
  });

  it("never beyond the caller's own limits: 403, and the key is unchanged", async () => {
    const workspace = `ws-${randomUUID()}`;
    const full = await srv.createKey({ workspace });
    // A limited admin key: no generate scope, $1/month, one model.
    const limited = (await (await srv.request("/v1/api-keys", { method: "POST", key: full.key, json: { name: "limited", scopes: ["admin", "read"] } })).json()) as { key: string; key_id: string };
    expect((await patch(full.key, limited.key_id, { monthly_budget_usd: 1, allowed_models: ["local/echo"] })).status).toBe(200);
    const target = (await (await srv.request("/v1/api-keys", { method: "POST", key: limited.key, json: { scopes: ["read"] } })).json()) as { key_id: string };
    // Created by the limited key: its budget and allow-list are inherited.
    expect(await keyView(full.key, target.key_id)).toMatchObject({ scopes: ["read"], monthly_budget_usd: 1, allowed_models: ["local/echo"] });

    const scope = await expectError(await patch(limited.key, target.key_id, { scopes: ["read", "generate"] }), 403, "insufficient_scope");
    expect(scope.details).toMatchObject({ exceeding_scopes: ["generate"] });
    await expectError(await patch(limited.key, limited.key_id, { scopes: ["admin", "read", "generate"] }), 403, "insufficient_scope");
    await expectError(await patch(limited.key, target.key_id, { monthly_budget_usd: 5 }), 403, "monthly_budget_exceeds_creator");
    await expectError(await patch(limited.key, target.key_id, { monthly_budget_usd: null }), 403, "monthly_budget_exceeds_creator");
    await expectError(await patch(limited.key, target.key_id, { allowed_models: null }), 403, "allowed_models_exceed_creator");
    await expectError(await patch(limited.key, target.key_id, { allowed_models: ["local/image"] }), 403, "allowed_models_exceed_creator");
    // The full key is more than the limited one: not its to change.
    await expectError(await patch(limited.key, full.key_id, { name: "x" }), 403, "insufficient_scope");
    // A read-only key cannot call it at all.
    const reader = await srv.createKey({ workspace, scopes: ["read"] });
    await expectError(await patch(reader.key, target.key_id, { name: "x" }), 403, "insufficient_scope");
    expect(await keyView(full.key, target.key_id)).toMatchObject({ name: null, scopes: ["read"], monthly_budget_usd: 1, allowed_models: ["local/echo"] });

    // Within its limits it may: lower the budget, keep the model.
    const ok = await patch(limited.key, target.key_id, { monthly_budget_usd: 0.5, name: "reader" });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ name: "reader", monthly_budget_usd: 0.5 });
  });

  it("the operator's admin command keys.update is bound by no key", async () => {
    const k = await srv.createKey();
    const updated = (await runAdminCommand(srv.runtime, "keys.update", { key_id: k.key_id, monthly_budget_usd: 3, allowed_models: ["local/image"], scopes: ["read"] })) as ApiKeyBody;
    expect(updated).toMatchObject({ scopes: ["read"], monthly_budget_usd: 3, allowed_models: ["local/image"], monthly_spent_usd: 0 });
    await expect(runAdminCommand(srv.runtime, "keys.update", { key_id: k.key_id, allowed_models: ["nope"] })).rejects.toMatchObject({ status: 400, code: "unknown_model" });
  });
});

describe("monthly budget", () => {
  it("refuses at the edge with 402 key_budget_exceeded and reserves nothing", async () => {
    const k = await srv.createKey();
    expect((await patch(k.key, k.key_id, { monthly_budget_usd: 0.000003 })).status).toBe(200);
    for (let i = 0; i < 3; i++) {
      const res = await echo(k.key);
      expect(res.status).toBe(202);
      expect((await waitForJob(srv, k.key, ((await res.json()) as JobBody).job_id)).status).toBe("completed"); // captured: still counts
    }
    const before = await walletOf(srv, k.key);
    const refused = await expectError(await echo(k.key), 402, "key_budget_exceeded");
    expect(refused.details).toMatchObject({ monthly_budget_usd: 0.000003, monthly_spent_usd: 0.000003, needed_usd: 0.000001, remaining_usd: 0 });
    expect(refused.details!.monthly_budget_resets_at).toBe((await keyView(k.key, k.key_id)).monthly_budget_resets_at);
    expect(await walletOf(srv, k.key)).toEqual(before);
    expect((await keyView(k.key, k.key_id)).monthly_spent_usd).toBe(0.000003);
    // A key may lower its own budget but not raise it; a key without one (the owner's) may.
    await expectError(await patch(k.key, k.key_id, { monthly_budget_usd: 0.000004 }), 403, "monthly_budget_exceeds_creator");
    const owner = await srv.createKey({ workspace: k.workspace_id });
    expect((await patch(owner.key, k.key_id, { monthly_budget_usd: 0.000004 })).status).toBe(200);
    // Raised: the key spends again, at once.
    expect((await echo(k.key)).status).toBe(202);
    await expectError(await echo(k.key), 402, "key_budget_exceeded");
    // Another key of the workspace (created by this one: the same budget) counts its own spend.
    const sibling = (await (await srv.request("/v1/api-keys", { method: "POST", key: k.key, json: {} })).json()) as { key: string; key_id: string };
    expect(await keyView(k.key, sibling.key_id)).toMatchObject({ monthly_budget_usd: 0.000004, monthly_spent_usd: 0 });
    expect((await echo(sibling.key)).status).toBe(202);
  });

  it("50 concurrent submits with one key never exceed it: exactly 10 of $0.000001 fit $0.00001", async () => {
    const k = await srv.createKey();
    expect((await patch(k.key, k.key_id, { monthly_budget_usd: 0.00001 })).status).toBe(200);
    const answers = await Promise.all(Array.from({ length: 50 }, () => echo(k.key)));
    const statuses = answers.map((r) => r.status);
    const codes = await Promise.all(answers.map(async (r) => (r.status === 202 ? "accepted" : ((await r.json()) as ErrorBody).error.code)));
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(codes.filter((c) => c !== "accepted")).toEqual(Array(40).fill("key_budget_exceeded"));
    const ids = await Promise.all(answers.filter((r) => r.status === 202).map(async (r) => ((await r.json()) as JobBody).job_id));
    for (const id of ids) expect((await waitForJob(srv, k.key, id)).status).toBe("completed");
    expect((await keyView(k.key, k.key_id)).monthly_spent_usd).toBe(0.00001);
    expect((await auditWallet(srv.runtime.db, k.workspace_id)).problems).toEqual([]);
  }, 120_000);

  it("a refunded (cancelled) job gives its hold back to the budget", async () => {
    const k = await srv.createKey();
    const big = { model: "local/image", prompt: "a slow fox", resolution: "4096x4096" };
    const first = await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: big });
    expect(first.status).toBe(202);
    const job = (await first.json()) as JobBody;
    const price = job.estimated_cost_usd!;
    expect(price).toBeGreaterThan(0);
    expect((await keyView(k.key, k.key_id)).monthly_spent_usd).toBe(price);
    // A budget of exactly one such job: the next is refused while the first holds it.
    expect((await patch(k.key, k.key_id, { monthly_budget_usd: price })).status).toBe(200);
    await expectError(await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: big }), 402, "key_budget_exceeded");
    expect((await srv.request(`/v1/jobs/${job.job_id}`, { method: "DELETE", key: k.key })).status).toBe(200);
    expect((await waitForJob(srv, k.key, job.job_id)).status).toBe("cancelled");
    expect((await keyView(k.key, k.key_id)).monthly_spent_usd).toBe(0);
    const again = await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: big });
    expect(again.status).toBe(202);
    const second = (await again.json()) as JobBody;
    expect((await srv.request(`/v1/jobs/${second.job_id}`, { method: "DELETE", key: k.key })).status).toBe(200);
    await waitForJob(srv, k.key, second.job_id, 60_000);
    expect((await auditWallet(srv.runtime.db, k.workspace_id)).problems).toEqual([]);
  }, 120_000);
});

describe("allowed models", () => {
  it("refuses another model with 403 model_not_allowed before anything is reserved", async () => {
    const k = await srv.createKey();
    expect((await patch(k.key, k.key_id, { allowed_models: ["local/echo"] })).status).toBe(200);
    const before = await walletOf(srv, k.key);
    const refused = await expectError(
      await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: { model: "local/image", prompt: "fox", resolution: "64x64" } }),
      403,
      "model_not_allowed",
    );
    expect(refused.details).toEqual({ model: "local/image", allowed_models: ["local/echo"] });
    await expectError(await srv.request("/v1/audio/generate", { method: "POST", key: k.key, json: { model: "local/tts", text: "hello" } }), 403, "model_not_allowed");
    expect(await walletOf(srv, k.key)).toEqual(before);
    expect((await keyView(k.key, k.key_id)).monthly_spent_usd).toBe(0);
    const audit = await auditWallet(srv.runtime.db, k.workspace_id);
    expect(audit).toMatchObject({ openHoldsCount: 0, problems: [] });
    // The allowed model runs.
    const ok = await echo(k.key);
    expect(ok.status).toBe(202);
    expect((await waitForJob(srv, k.key, ((await ok.json()) as JobBody).job_id)).status).toBe("completed");
  });
});

describe("POST /v1/api-keys with limits", () => {
  interface Created {
    key: string;
    key_id: string;
    scopes: string[];
    daily_spend_cap_usd: number | null;
    monthly_budget_usd: number | null;
    allowed_models: string[] | null;
  }
  const create = (key: string, json: unknown) => srv.request("/v1/api-keys", { method: "POST", key, json });
  async function created(res: Response): Promise<Created> {
    expect(res.status).toBe(201);
    return (await res.json()) as Created;
  }
  const keyCount = async (key: string) => ((await (await srv.request("/v1/api-keys", { key })).json()) as { data: unknown[] }).data.length;

  it("creates a key with its budget and allow-list in one step, and the key is held to them at once", async () => {
    const owner = await srv.createKey();
    const k = await created(
      await create(owner.key, { name: "bot", scopes: ["generate", "read"], monthly_budget_usd: 0.000002, allowed_models: ["local/echo", "fal-ai/kling-3.0", "local/echo"] }),
    );
    // The answer echoes the limits; an alias is stored as its catalog id, repeats collapse.
    expect(k).toMatchObject({ scopes: ["generate", "read"], daily_spend_cap_usd: null, monthly_budget_usd: 0.000002, allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"] });
    expect(await keyView(owner.key, k.key_id)).toMatchObject({ monthly_budget_usd: 0.000002, monthly_spent_usd: 0, allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"] });

    // Its very first request is already held to them.
    const before = await walletOf(srv, owner.key);
    await expectError(
      await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: { model: "local/image", prompt: "fox", resolution: "64x64" } }),
      403,
      "model_not_allowed",
    );
    expect(await walletOf(srv, owner.key)).toEqual(before);
    for (let i = 0; i < 2; i++) {
      const res = await echo(k.key);
      expect(res.status).toBe(202);
      expect((await waitForJob(srv, k.key, ((await res.json()) as JobBody).job_id)).status).toBe("completed");
    }
    await expectError(await echo(k.key), 402, "key_budget_exceeded");
    expect((await auditWallet(srv.runtime.db, owner.workspace_id)).problems).toEqual([]);
  });

  it("never looser than the caller's own: 403 and no key; omitted limits are the caller's", async () => {
    const full = await srv.createKey({ workspace: `ws-${randomUUID()}` });
    const limited = await created(await create(full.key, { name: "limited", scopes: ["admin", "read", "generate"], monthly_budget_usd: 1, allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"] }));
    const keys = await keyCount(full.key);

    const budget = await expectError(await create(limited.key, { monthly_budget_usd: 5 }), 403, "monthly_budget_exceeds_creator");
    expect(budget.details).toMatchObject({ monthly_budget_usd: 1 });
    await expectError(await create(limited.key, { monthly_budget_usd: null }), 403, "monthly_budget_exceeds_creator");
    const models = await expectError(await create(limited.key, { allowed_models: ["local/echo", "local/image"] }), 403, "allowed_models_exceed_creator");
    expect(models.details).toMatchObject({ exceeding_models: ["local/image"] });
    await expectError(await create(limited.key, { allowed_models: null }), 403, "allowed_models_exceed_creator");
    await expectError(await create(limited.key, { scopes: ["read"], allowed_models: ["local/image"] }), 403, "allowed_models_exceed_creator");
    expect(await keyCount(full.key)).toBe(keys);

    // Omitted: the caller's budget and allow-list.
    const inherited = await created(await create(limited.key, { scopes: ["generate"] }));
    expect(inherited).toMatchObject({ scopes: ["generate"], monthly_budget_usd: 1, allowed_models: ["local/echo", "fal-ai/kling-video/v3/pro/text-to-video"] });
    // Within them (an alias of an allowed model is that model): allowed.
    const narrower = await created(await create(limited.key, { monthly_budget_usd: 0.5, allowed_models: ["fal-ai/kling-3.0"] }));
    expect(narrower).toMatchObject({ monthly_budget_usd: 0.5, allowed_models: ["fal-ai/kling-video/v3/pro/text-to-video"] });
    expect(await keyView(full.key, narrower.key_id)).toMatchObject({ monthly_budget_usd: 0.5, allowed_models: ["fal-ai/kling-video/v3/pro/text-to-video"] });
  });

  it("null is no limit, as on PATCH; bad input is 400 and creates nothing", async () => {
    const owner = await srv.createKey({ workspace: `ws-${randomUUID()}` });
    const open = await created(await create(owner.key, { monthly_budget_usd: null, allowed_models: null }));
    expect(open).toMatchObject({ monthly_budget_usd: null, allowed_models: null });
    expect(await keyView(owner.key, open.key_id)).toMatchObject({ monthly_budget_usd: null, allowed_models: null });
    // Omitted by a key without limits: none.
    expect(await created(await create(owner.key, {}))).toMatchObject({ monthly_budget_usd: null, allowed_models: null });

    const keys = await keyCount(owner.key);
    const unknown = await expectError(await create(owner.key, { allowed_models: ["local/echo", "no-such/model"] }), 400, "unknown_model");
    expect(unknown.details?.fields).toEqual([expect.objectContaining({ field: "body.allowed_models[1]" })]);
    await expectError(await create(owner.key, { monthly_budget_usd: 1.0000001 }), 400, "invalid_request");
    for (const body of [{ monthly_budget_usd: -1 }, { monthly_budget_usd: "10" }, { monthly_budget_usd: 1e7 }, { allowed_models: [] }, { allowed_models: [""] }, { allowed_models: "local/echo" }]) {
      const res = await create(owner.key, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code).toMatch(/^[a-z_]+$/);
    }
    expect(await keyCount(owner.key)).toBe(keys);
  });
});
