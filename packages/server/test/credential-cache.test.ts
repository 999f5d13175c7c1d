/**
 * Keys are resolved from a short-lived per-process cache (CREDENTIAL_CACHE_MS, at most
 * 1 s). The promise: a revoked key fails at once on the process that revoked it and
 * within that bound on every other process.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./harness.ts";
import { killSpawned, spawnAeriox } from "./processes.ts";

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ env: { CREDENTIAL_CACHE_MS: "1000" } });
});
afterAll(() => srv?.close());

const me = (url: string, key: string) => fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
const revoke = (url: string, adminKey: string, keyId: string) => fetch(`${url}/v1/api-keys/${keyId}`, { method: "DELETE", headers: { authorization: `Bearer ${adminKey}` } });

describe("on the process that revokes", () => {
  it("a cached key fails on the very next request", async () => {
    const admin = await srv.createKey();
    const bystander = await srv.createKey();
    const sameWorkspace = await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: "victim" } });
    const created = (await sameWorkspace.json()) as { key: string; key_id: string };
    expect((await me(srv.url, created.key)).status).toBe(200); // now cached
    expect((await me(srv.url, created.key)).status).toBe(200);
    expect((await revoke(srv.url, admin.key, created.key_id)).status).toBe(200);
    expect((await me(srv.url, created.key)).status).toBe(401);
    expect((await me(srv.url, bystander.key)).status).toBe(200); // other keys unaffected
  });

  it("a refused credential is refused again (cached refusals do not turn into acceptance)", async () => {
    for (let i = 0; i < 3; i++) expect((await me(srv.url, "sk_live_" + "x".repeat(43))).status).toBe(401);
  });
});

// A second API process needs a database two processes can open: PostgreSQL (CI's second pass).
describe.skipIf(!process.env.DATABASE_URL)("across API processes", () => {
  let otherUrl: string;
  beforeAll(async () => {
    otherUrl = (await spawnAeriox(srv, "serve")).url!;
  }, 60_000);
  afterAll(killSpawned);

  it("a key revoked on another process fails here once CREDENTIAL_CACHE_MS has passed", async () => {
    const admin = await srv.createKey();
    const created = (await (await srv.request("/v1/api-keys", { method: "POST", key: admin.key, json: { name: "victim" } })).json()) as { key: string; key_id: string };
    expect((await me(srv.url, created.key)).status).toBe(200); // cached on this process
    expect((await me(otherUrl, created.key)).status).toBe(200);
    expect((await revoke(otherUrl, admin.key, created.key_id)).status).toBe(200);
    expect((await me(otherUrl, created.key)).status).toBe(401); // at once where it was revoked
    await sleep(1000); // the bound: no entry outlives it
    expect((await me(srv.url, created.key)).status).toBe(401);
  });
});
