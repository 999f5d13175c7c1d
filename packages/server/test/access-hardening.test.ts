/**
 * Access hardening through HTTP: keys never exceed the key that creates or rotates
 * them, OAuth tokens manage no keys, active keys per workspace are bounded (atomically),
 * public endpoints are limited per client address, and an Idempotency-Key claim left
 * by a crashed request is taken over after its lease.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadSpec } from "../src/spec.ts";
import { ADDRESS_LIMITED_OPERATIONS } from "../src/http/authenticate.ts";
import { startTestServer, type TestServer } from "./harness.ts";
import { registerClient, tokensFor } from "./oauth-flow.ts";

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(() => srv?.close());

interface CreatedKey {
  key: string;
  key_id: string;
  scopes: string[];
  daily_spend_cap_usd: number | null;
}
interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

const createVia = (server: TestServer, key: string, json?: unknown) =>
  server.request("/v1/api-keys", { method: "POST", key, ...(json === undefined ? {} : { json }) });

async function errorOf(res: Response): Promise<ErrorBody["error"]> {
  return ((await res.json()) as ErrorBody).error;
}

async function meOf(key: string) {
  const res = await srv.request("/v1/me", { key });
  expect(res.status).toBe(200);
  return ((await res.json()) as { api_key: { scopes: string[]; daily_spend_cap_usd: number | null } }).api_key;
}

describe("a key never creates a key beyond itself", () => {
  it("an admin-only key with a $0 cap cannot mint a full, uncapped key (the red-team case)", async () => {
    const { key } = await srv.createKey({ scopes: ["admin"], daily_spend_cap_usd: 0 });

    const allScopes = await createVia(srv, key, { scopes: ["generate", "read", "admin"], daily_spend_cap_usd: null });
    expect(allScopes.status).toBe(403);
    const scopeError = await errorOf(allScopes);
    expect(scopeError.code).toBe("insufficient_scope");
    expect(scopeError.details?.exceeding_scopes).toEqual(["generate", "read"]);
    expect(scopeError.message).toContain("generate, read");

    const uncapped = await createVia(srv, key, { scopes: ["admin"], daily_spend_cap_usd: null });
    expect(uncapped.status).toBe(403);
    expect((await errorOf(uncapped)).code).toBe("spend_cap_exceeds_creator");

    const larger = await createVia(srv, key, { scopes: ["admin"], daily_spend_cap_usd: 0.01 });
    expect(larger.status).toBe(403);
    expect((await errorOf(larger)).code).toBe("spend_cap_exceeds_creator");

    // Omitted scopes and cap: the creator's, not "all three, no cap".
    for (const body of [{}, undefined]) {
      const inherited = await createVia(srv, key, body);
      expect(inherited.status).toBe(201);
      const created = (await inherited.json()) as CreatedKey;
      expect(created.scopes).toEqual(["admin"]);
      expect(created.daily_spend_cap_usd).toBe(0);
      const listed = (await (await srv.request("/v1/api-keys", { key: created.key })).json()) as { data: Array<{ id: string; scopes: string[]; daily_spend_cap_usd: number | null }> };
      expect(listed.data.find((k) => k.id === created.key_id)).toMatchObject({ scopes: ["admin"], daily_spend_cap_usd: 0 });
    }
  });

  it("a read-only key cannot create an admin key, and an admin+read key cannot add generate", async () => {
    const { key: readOnly } = await srv.createKey({ scopes: ["read"] });
    const denied = await createVia(srv, readOnly, { scopes: ["admin"] });
    expect(denied.status).toBe(403);
    expect((await errorOf(denied)).code).toBe("insufficient_scope");

    const { key: adminRead } = await srv.createKey({ scopes: ["admin", "read"] });
    const widened = await createVia(srv, adminRead, { scopes: ["read", "generate"] });
    expect(widened.status).toBe(403);
    expect((await errorOf(widened)).details?.exceeding_scopes).toEqual(["generate"]);
    const narrower = await createVia(srv, adminRead, { scopes: ["read"] });
    expect(narrower.status).toBe(201);
    expect(((await narrower.json()) as CreatedKey).scopes).toEqual(["read"]);
  });

  it("a capped key's new key inherits the cap, or takes a smaller one", async () => {
    const { key } = await srv.createKey({ daily_spend_cap_usd: 2.5 });
    const inherited = (await (await createVia(srv, key, { name: "ci" })).json()) as CreatedKey;
    expect(inherited.daily_spend_cap_usd).toBe(2.5);
    expect(inherited.scopes).toEqual(["generate", "read", "admin"]);
    const smaller = await createVia(srv, key, { daily_spend_cap_usd: 1 });
    expect(smaller.status).toBe(201);
    expect(((await smaller.json()) as CreatedKey).daily_spend_cap_usd).toBe(1);
  });

  it("an uncapped full key still creates keys with all scopes by default", async () => {
    const { key } = await srv.createKey();
    const created = (await (await createVia(srv, key, {})).json()) as CreatedKey;
    expect(created.scopes).toEqual(["generate", "read", "admin"]);
    expect(created.daily_spend_cap_usd).toBeNull();
  });

  it("rotation keeps the rotated key's scopes and cap, and cannot hand a weaker key a stronger one", async () => {
    const { key: full, key_id: fullId } = await srv.createKey();
    const narrow = (await (await createVia(srv, full, { scopes: ["admin", "read"], daily_spend_cap_usd: 3 })).json()) as CreatedKey;
    const rotated = await srv.request(`/v1/api-keys/${narrow.key_id}/rotate`, { method: "POST", key: full });
    expect(rotated.status).toBe(200);
    const { new_key } = (await rotated.json()) as { new_key: string };
    expect(await meOf(new_key)).toMatchObject({ scopes: ["read", "admin"], daily_spend_cap_usd: 3 });

    // The narrow (rotated) key's successor cannot rotate the full key into its own hands.
    const escalate = await srv.request(`/v1/api-keys/${fullId}/rotate`, { method: "POST", key: new_key });
    expect(escalate.status).toBe(403);
    expect((await errorOf(escalate)).code).toBe("insufficient_scope");
    const uncappedSibling = (await (await createVia(srv, full, { scopes: ["admin"] })).json()) as CreatedKey;
    const looser = await srv.request(`/v1/api-keys/${uncappedSibling.key_id}/rotate`, { method: "POST", key: new_key });
    expect(looser.status).toBe(403);
    expect((await errorOf(looser)).code).toBe("spend_cap_exceeds_creator");
    expect((await meOf(full)).scopes).toEqual(["generate", "read", "admin"]);
  });
});

describe("OAuth access tokens manage no keys", () => {
  it("a token with the admin scope gets 403 on create and rotate, so nothing outlives a revoked grant", async () => {
    const redirectUri = "http://127.0.0.1:9/callback";
    const client = await registerClient(srv, { redirectUris: [redirectUri], scopes: ["read", "generate", "admin"] });
    const owner = await srv.createKey();
    const tokens = await tokensFor(srv, { clientId: client.client_id, redirectUri, adminKey: owner.key, scope: "admin read" });
    expect(tokens.scope.split(" ")).toContain("admin");

    const created = await createVia(srv, tokens.access_token, { scopes: ["read"] });
    expect(created.status).toBe(403);
    expect((await errorOf(created)).code).toBe("oauth_token_cannot_manage_keys");
    const rotated = await srv.request(`/v1/api-keys/${owner.key_id}/rotate`, { method: "POST", key: tokens.access_token });
    expect(rotated.status).toBe(403);
    expect((await errorOf(rotated)).code).toBe("oauth_token_cannot_manage_keys");
    // The token still reads what its scopes allow.
    expect((await srv.request("/v1/api-keys", { key: tokens.access_token })).status).toBe(200);
    const keys = await srv.runtime.db.prisma.apiKey.count({ where: { workspaceId: owner.workspace_id } });
    expect(keys).toBe(1);
  });
});

describe("MAX_ACTIVE_KEYS_PER_WORKSPACE", () => {
  it("answers 409 key_limit_reached past the limit; concurrent creates at the limit: one wins", async () => {
    const limited = await startTestServer({ env: { MAX_ACTIVE_KEYS_PER_WORKSPACE: "3" } });
    try {
      const owner = await limited.createKey();
      expect((await createVia(limited, owner.key, {})).status).toBe(201); // 2 active

      const racers = await Promise.all(Array.from({ length: 6 }, () => createVia(limited, owner.key, {})));
      const statuses = racers.map((r) => r.status).sort();
      expect(statuses).toEqual([201, 409, 409, 409, 409, 409]);
      const refused = racers.find((r) => r.status === 409)!;
      expect(await errorOf(refused)).toMatchObject({ code: "key_limit_reached", details: { max_active_keys: 3 } });
      expect(await limited.runtime.db.prisma.apiKey.count({ where: { workspaceId: owner.workspace_id, revokedAt: null } })).toBe(3);

      // Rotating replaces a key: allowed at the limit, and the rotated-away key no longer counts.
      const created = (await (await limited.request("/v1/api-keys", { key: owner.key })).json()) as { data: Array<{ id: string }> };
      const other = created.data.find((k) => k.id !== owner.key_id)!;
      expect((await limited.request(`/v1/api-keys/${other.id}/rotate`, { method: "POST", key: owner.key })).status).toBe(200);
      expect((await createVia(limited, owner.key, {})).status).toBe(409);

      // Revoking frees a slot.
      expect((await limited.request(`/v1/api-keys/${other.id}`, { method: "DELETE", key: owner.key })).status).toBe(200);
      expect((await createVia(limited, owner.key, {})).status).toBe(409); // the rotated key was already not counted
      const live = (await (await limited.request("/v1/api-keys", { key: owner.key })).json()) as { data: Array<{ id: string; revoked_at: string | null; expires_at: string | null }> };
      const revocable = live.data.find((k) => k.id !== owner.key_id && k.revoked_at === null && k.expires_at === null)!;
      expect((await limited.request(`/v1/api-keys/${revocable.id}`, { method: "DELETE", key: owner.key })).status).toBe(200);
      expect((await createVia(limited, owner.key, {})).status).toBe(201);

      // Another workspace has its own count; the operator's CLI is not limited.
      const neighbour = await limited.createKey();
      expect((await createVia(limited, neighbour.key, {})).status).toBe(201);
      for (let i = 0; i < 3; i++) await limited.createKey({ workspace: owner.workspace_id });
      expect(await limited.runtime.db.prisma.apiKey.count({ where: { workspaceId: owner.workspace_id, revokedAt: null, rotatedToId: null } })).toBe(6);
    } finally {
      await limited.close();
    }
  });
});

describe("per-address rate limits on the public endpoints", () => {
  it("limit exactly the public operations whose 429 the spec documents", () => {
    const documented = loadSpec()
      .operations.filter((op) => !op.authenticated)
      .filter((op) => {
        const item = (loadSpec().document.paths as Record<string, Record<string, { responses?: Record<string, unknown> }>>)[op.path]!;
        return "429" in (item[op.method]!.responses ?? {});
      })
      .map((op) => op.operationId)
      .sort();
    expect(Object.keys(ADDRESS_LIMITED_OPERATIONS).sort()).toEqual(documented);
  });

  it("429 with retry-after on /v1/oauth/token past the OAuth budget; other addresses and the public budget are separate", async () => {
    const budget = 3;
    const limited = await startTestServer({ env: { OAUTH_IP_RATE_LIMIT_PER_MINUTE: String(budget), IP_RATE_LIMIT_PER_MINUTE: "50" } });
    try {
      // `trust proxy` is loopback, so the test can speak for other client addresses.
      const from = (address: string) => ({ "x-forwarded-for": address });
      const tokenCall = (address: string) =>
        limited.request("/v1/oauth/token", { method: "POST", headers: from(address), body: new URLSearchParams({ grant_type: "refresh_token", client_id: "client_x", refresh_token: "rt_nope" }) });

      // Counted in one-minute windows: a window may turn during the loop, so the first
      // 429 comes after at least `budget` requests and at most two windows' worth.
      const statuses: number[] = [];
      let refused: Response | undefined;
      while (!refused && statuses.length <= 2 * budget + 1) {
        const res = await tokenCall("203.0.113.7");
        statuses.push(res.status);
        if (res.status === 429) refused = res;
        else await res.body?.cancel();
      }
      expect(refused, `statuses: ${statuses.join(",")}`).toBeDefined();
      expect(statuses.indexOf(429)).toBeGreaterThanOrEqual(budget);
      expect(statuses.filter((s) => s !== 429).every((s) => s === 400)).toBe(true);
      const retryAfter = Number(refused!.headers.get("retry-after"));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
      const error = await errorOf(refused!);
      expect(error.code).toBe("rate_limited");
      expect(error.details?.retry_after_s).toBeGreaterThan(0);

      // The consent endpoints share the OAuth budget of that address...
      expect((await limited.request("/v1/oauth/consent?request=not-a-uuid", { headers: from("203.0.113.7") })).status).toBe(429);
      // ...but not another address's, nor the public budget (pricing, JWKS).
      expect((await tokenCall("198.51.100.9")).status).toBe(400);
      expect((await limited.request("/v1/pricing", { headers: from("203.0.113.7") })).status).toBe(200);
      expect((await limited.request("/v1/oauth/jwks", { headers: from("203.0.113.7") })).status).toBe(200);
      // Authenticated calls are limited per credential, not per address.
      const { key } = await limited.createKey();
      expect((await limited.request("/v1/me", { key, headers: from("203.0.113.7") })).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it("counts an IPv6 client by its /64", async () => {
    const limited = await startTestServer({ env: { IP_RATE_LIMIT_PER_MINUTE: "2" } });
    try {
      const pricing = (address: string) => limited.request("/v1/pricing", { headers: { "x-forwarded-for": address } });
      const statuses: number[] = [];
      // Every request from a different address of one /64.
      for (let i = 1; statuses.indexOf(429) < 0 && i <= 6; i++) statuses.push((await pricing(`2001:db8:aa:bb::${i.toString(16)}`)).status);
      expect(statuses).toContain(429);
      expect(statuses.indexOf(429)).toBeGreaterThanOrEqual(2);
      expect((await pricing("2001:db8:aa:cc::1")).status).toBe(200);
    } finally {
      await limited.close();
    }
  });
});

describe("Idempotency-Key lease", () => {
  it("a claim left in_progress by a crashed request is taken over after the lease, once", async () => {
    const { key, workspace_id } = await srv.createKey();
    const send = () => srv.request("/v1/api-keys", { method: "POST", key, headers: { "idempotency-key": "crash-1" }, json: { name: "leased" } });
    const first = await send();
    expect(first.status).toBe(201);
    // As if the process had died after claiming: the claim is in_progress, with no response.
    const where = { workspaceId_key: { workspaceId: workspace_id, key: "crash-1" } };
    await srv.runtime.db.prisma.idempotencyRecord.update({ where, data: { state: "in_progress", responseStatus: null } });

    const withinLease = await send();
    expect(withinLease.status).toBe(409);
    expect((await errorOf(withinLease)).code).toBe("idempotency_in_progress");

    const leaseMs = srv.config.IDEMPOTENCY_LEASE_SECONDS * 1000;
    await srv.runtime.db.prisma.idempotencyRecord.update({ where, data: { createdAt: new Date(Date.now() - leaseMs - 1000) } });
    const takenOver = await send();
    expect(takenOver.status).toBe(201);
    expect(takenOver.headers.get("idempotent-replayed")).toBeNull();
    const { key_id } = (await takenOver.json()) as CreatedKey;

    const replayed = await send();
    expect(replayed.status).toBe(201);
    expect(replayed.headers.get("idempotent-replayed")).toBe("true");
    expect(((await replayed.json()) as CreatedKey).key_id).toBe(key_id);
    expect(await srv.runtime.db.prisma.apiKey.count({ where: { workspaceId: workspace_id, name: "leased" } })).toBe(2);
  });

  it("a stale claim is not taken over by a different request", async () => {
    const { key, workspace_id } = await srv.createKey();
    const send = (name: string) => srv.request("/v1/api-keys", { method: "POST", key, headers: { "idempotency-key": "crash-2" }, json: { name } });
    expect((await send("one")).status).toBe(201);
    await srv.runtime.db.prisma.idempotencyRecord.update({
      where: { workspaceId_key: { workspaceId: workspace_id, key: "crash-2" } },
      data: { state: "in_progress", responseStatus: null, createdAt: new Date(Date.now() - 3600_000) },
    });
    const other = await send("two");
    expect(other.status).toBe(409);
    expect((await errorOf(other)).code).toBe("idempotency_key_reused");
  });
});
