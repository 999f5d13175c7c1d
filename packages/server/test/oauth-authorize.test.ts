/**
 * OAuth front channel through HTTP: client registration, the authorize endpoint's
 * validation (answered vs redirected errors), the consent page and its form.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdminCommand } from "@aeriox/core/admin";
import { startTestServer, type TestServer } from "./harness.ts";
import { authorizeUrl, noRedirect, openConsentPage, pkcePair, registerClient, submitConsent } from "./oauth-flow.ts";

let srv: TestServer;
let client: Awaited<ReturnType<typeof registerClient>>;
let adminKey: string;
let workspaceId: string;
const redirectUri = "http://127.0.0.1:9/callback";

beforeAll(async () => {
  // Every flow here comes from one loopback address: the per-address OAuth budget is not under test.
  srv = await startTestServer({ env: { OAUTH_IP_RATE_LIMIT_PER_MINUTE: "100000" } });
  client = await registerClient(srv, { redirectUris: [redirectUri, "https://app.example.com/oauth/cb?tenant=1"], scopes: ["read", "generate"] });
  ({ key: adminKey, workspace_id: workspaceId } = await srv.createKey({ scopes: ["admin", "read"] }));
});
afterAll(() => srv?.close());

function validParams(overrides: Record<string, string | undefined> = {}) {
  return { response_type: "code", client_id: client.client_id, redirect_uri: redirectUri, code_challenge: pkcePair().challenge, code_challenge_method: "S256", state: "xyz", ...overrides };
}

async function errorOf(res: Response) {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe("oauth-clients admin commands", () => {
  it("creates and lists clients", async () => {
    expect(client.client_id).toMatch(/^client_[0-9a-f]{24}$/);
    expect(client.scopes).toEqual(["generate", "read"]); // canonical order generate, read, admin
    const { clients } = (await runAdminCommand(srv.runtime, "oauth-clients.list", {})) as { clients: Array<{ client_id: string; redirect_uris: string[] }> };
    expect(clients.find((c) => c.client_id === client.client_id)?.redirect_uris).toContain(redirectUri);
  });

  it.each([
    ["not absolute", "/callback"],
    ["plain http on a public host", "http://app.example.com/cb"],
    ["a fragment", "https://app.example.com/cb#x"],
    ["a custom scheme", "myapp://cb"],
  ])("refuses a redirect URI with %s", async (_why, uri) => {
    await expect(runAdminCommand(srv.runtime, "oauth-clients.create", { name: "x", redirect_uris: [uri], scopes: ["read"] })).rejects.toMatchObject({ status: 400, code: "invalid_request" });
  });

  it("refuses unknown scopes", async () => {
    await expect(runAdminCommand(srv.runtime, "oauth-clients.create", { name: "x", redirect_uris: [redirectUri], scopes: ["superuser"] })).rejects.toMatchObject({ status: 400 });
  });
});

describe("GET /v1/oauth/authorize", () => {
  it("redirects a valid request to the consent page", async () => {
    const res = await srv.request(authorizeUrl(validParams()), noRedirect);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(/^\/v1\/oauth\/consent\?request=[0-9a-f-]{36}$/);
  });

  it.each([
    ["an unregistered redirect URI", { redirect_uri: "http://127.0.0.1:9/other" }],
    ["a redirect URI that only differs by a trailing slash", { redirect_uri: "http://127.0.0.1:9/callback/" }],
    ["a redirect URI with an extra query", { redirect_uri: "https://app.example.com/oauth/cb?tenant=1&x=2" }],
    ["an unknown client", { client_id: "client_nope" }],
  ])("answers 400 with no Location for %s", async (_why, overrides) => {
    const res = await srv.request(authorizeUrl(validParams(overrides)), noRedirect);
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect((await errorOf(res)).code).toBe("invalid_request");
  });

  /** RFC 6749 §4.1.2.1: once client and redirect URI are verified, errors go back to the client. */
  async function redirectedError(overrides: Record<string, string | undefined>) {
    const res = await srv.request(authorizeUrl(validParams(overrides)), noRedirect);
    expect(res.status, await res.clone().text()).toBe(302);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get("code")).toBeNull();
    expect(location.searchParams.get("error_description")).toBeTruthy();
    return location.searchParams;
  }

  it.each([
    ["the plain PKCE method", { code_challenge_method: "plain" }],
    ["a missing code_challenge_method", { code_challenge_method: undefined }],
    ["a missing code_challenge", { code_challenge: undefined }],
    ["a malformed code_challenge", { code_challenge: "too-short" }],
    ["a code_challenge with characters outside RFC 7636's alphabet", { code_challenge: "a".repeat(42) + "=" }],
    ["a code_challenge over 128 characters", { code_challenge: "a".repeat(129) }],
  ])("redirects invalid_request with state for %s", async (_why, overrides) => {
    const params = await redirectedError({ ...overrides, state: "st-1" });
    expect(params.get("error")).toBe("invalid_request");
    expect(params.get("state")).toBe("st-1");
  });

  it.each([
    ["response_type=token", { response_type: "token" }],
    ["a missing response_type", { response_type: undefined }],
  ])("redirects unsupported_response_type with state for %s", async (_why, overrides) => {
    const params = await redirectedError({ ...overrides, state: "st-2" });
    expect(params.get("error")).toBe("unsupported_response_type");
    expect(params.get("state")).toBe("st-2");
  });

  it("redirects without state when the client sent none", async () => {
    const params = await redirectedError({ code_challenge_method: "plain", state: undefined });
    expect(params.get("error")).toBe("invalid_request");
    expect(params.has("state")).toBe(false);
  });

  it("accepts a challenge using all of RFC 7636's unreserved characters", async () => {
    const res = await srv.request(authorizeUrl(validParams({ code_challenge: "Az09-._~".repeat(6) })), noRedirect);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toMatch(/^\/v1\/oauth\/consent\?request=/);
  });

  it("never redirects for an unknown client, even when everything else is wrong too", async () => {
    const res = await srv.request(authorizeUrl(validParams({ client_id: "client_nope", code_challenge_method: "plain", response_type: "token" })), noRedirect);
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect((await errorOf(res)).code).toBe("invalid_request");
  });

  it("redirects invalid_scope for a scope the client may not ask for, keeping the registered query", async () => {
    const res = await srv.request(authorizeUrl(validParams({ scope: "read admin", redirect_uri: "https://app.example.com/oauth/cb?tenant=1" })), noRedirect);
    expect(res.status, await res.clone().text()).toBe(302);
    const location = new URL(res.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("invalid_scope");
    expect(location.searchParams.get("tenant")).toBe("1");
    expect(location.searchParams.get("state")).toBe("xyz");
  });
});

describe("GET /v1/oauth/consent", () => {
  it("renders an accessible page with the client, the scopes and a CSRF token, with strict headers", async () => {
    const page = await openConsentPage(srv, validParams({ scope: "read" }));
    const h = page.res.headers;
    expect(h.get("content-type")).toMatch(/^text\/html/);
    expect(h.get("content-security-policy")).toContain("default-src 'none'");
    expect(h.get("content-security-policy")).toContain("style-src 'unsafe-inline'");
    expect(h.get("content-security-policy")).toContain("form-action 'self' http://127.0.0.1:9");
    expect(h.get("x-frame-options")).toBe("DENY");
    expect(h.get("cache-control")).toBe("no-store");
    const cookie = h.get("set-cookie")!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/v1\/oauth/);
    expect(page.cookie.split("=")[1]).toBe(page.csrf);
    expect(page.html).toContain("Test App");
    expect(page.html).toContain("<label for=\"api_key\">API key of the workspace</label>");
    expect(page.html).toMatch(/<strong>read<\/strong>: See your workspace/);
    expect(page.html).not.toMatch(/<strong>generate<\/strong>/);
    expect(page.html).not.toMatch(/<script|https?:\/\/[^"\s]*\.(css|js)/);
  });

  it("escapes the client name", async () => {
    const evil = await registerClient(srv, { name: `<img src=x onerror=alert(1)>"` });
    const page = await openConsentPage(srv, validParams({ client_id: evil.client_id }));
    expect(page.html).not.toContain("<img src=x");
    expect(page.html).toContain("&lt;img src=x onerror=alert(1)&gt;&quot;");
  });

  it.each([["an unknown id", "3f1c5a8e-2d4b-4c1e-9a7f-0b6d2e8c4a11"], ["a malformed id", "not-a-uuid"]])("answers 400 for %s", async (_why, id) => {
    const res = await srv.request(`/v1/oauth/consent?request=${id}`);
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_request");
  });

  it("answers 400 for an expired request", async () => {
    const page = await openConsentPage(srv, validParams());
    await srv.runtime.db.prisma.oAuthAuthorizationRequest.update({ where: { id: page.requestId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await srv.request(`/v1/oauth/consent?request=${page.requestId}`)).status).toBe(400);
    const res = await submitConsent(srv, page, { decision: "approve", api_key: adminKey });
    expect(res.status).toBe(400);
    expect(res.headers.get("location")).toBeNull();
  });
});

describe("POST /v1/oauth/consent", () => {
  it("refuses a missing CSRF cookie, a cookie that does not match, and a forged token", async () => {
    const page = await openConsentPage(srv, validParams());
    for (const attempt of [
      { cookie: null },
      { cookie: "aeriox_oauth_csrf=somethingelse" },
      { csrf_token: "forged", cookie: "aeriox_oauth_csrf=forged" },
    ]) {
      const res = await submitConsent(srv, page, { decision: "approve", api_key: adminKey, ...attempt });
      expect(res.status).toBe(400);
      expect((await errorOf(res)).code).toBe("invalid_csrf_token");
      expect(res.headers.get("location")).toBeNull();
    }
    // Still pending: the right pair works.
    expect((await submitConsent(srv, page, { decision: "approve", api_key: adminKey })).status).toBe(303);
  });

  it("a token minted for one page does not work for another pending request", async () => {
    const a = await openConsentPage(srv, validParams());
    const b = await openConsentPage(srv, validParams());
    const res = await submitConsent(srv, { ...b, csrf: a.csrf, cookie: a.cookie }, { decision: "approve", api_key: adminKey });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe("invalid_csrf_token");
  });

  it("answers 401 for a bad key, a key without admin scope, an OAuth token or another form of credential", async () => {
    const page = await openConsentPage(srv, validParams());
    const { key: readOnly } = await srv.createKey({ scopes: ["read"] });
    for (const apiKey of ["sk_live_wrong", readOnly, "eyJhbGciOiJub25lIn0.e30.", "hunter2"]) {
      const res = await submitConsent(srv, page, { decision: "approve", api_key: apiKey });
      expect(res.status).toBe(401);
      expect((await errorOf(res)).code).toBe("unauthorized");
    }
  });

  it("deny redirects with access_denied and state, and a request is decided once", async () => {
    const page = await openConsentPage(srv, validParams({ state: "s-123" }));
    const res = await submitConsent(srv, page, { decision: "deny", api_key: adminKey });
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get("location")!);
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("s-123");
    expect(location.searchParams.get("code")).toBeNull();
    const again = await submitConsent(srv, page, { decision: "approve", api_key: adminKey });
    expect(again.status).toBe(400);
    expect((await errorOf(again)).code).toBe("invalid_request");
    expect((await srv.request(`/v1/oauth/consent?request=${page.requestId}`)).status).toBe(400);
  });

  it("approve issues a code bound to the key's workspace, stored only hashed", async () => {
    const page = await openConsentPage(srv, validParams());
    const res = await submitConsent(srv, page, { decision: "approve", api_key: adminKey });
    expect(res.status).toBe(303);
    expect(res.headers.get("set-cookie")).toMatch(/Max-Age=0/);
    const code = new URL(res.headers.get("location")!).searchParams.get("code")!;
    expect(code).toMatch(/^ac_[A-Za-z0-9_-]{43}$/);
    const rows = await srv.runtime.db.prisma.oAuthCode.findMany();
    expect(rows.some((r) => r.codeHash === code)).toBe(false);
    expect(rows.some((r) => r.workspaceId === workspaceId && r.clientId === client.client_id)).toBe(true);
    const again = await submitConsent(srv, page, { decision: "approve", api_key: adminKey });
    expect(again.status).toBe(400);
  });

  it("never logs the API key typed into the form", () => {
    const all = srv.logs.join("\n");
    expect(all).not.toContain(adminKey);
  });
});
