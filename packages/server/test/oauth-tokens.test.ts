/**
 * OAuth back channel through HTTP: the full PKCE round trip, code and refresh-token
 * reuse detection, revocation, the JWT checks of every authenticated route, JWKS and
 * key rotation, and that no secret reaches the logs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jose } from "@aeriox/core/testing";
import { runAdminCommand } from "@aeriox/core/admin";

const { createLocalJWKSet, exportSPKI, generateKeyPair, importJWK, jwtVerify, SignJWT, decodeProtectedHeader } = jose;
type JWK = jose.JWK;
import { startTestServer, type TestServer } from "./harness.ts";
import { authorizationCode, form, registerClient, token, tokensFor } from "./oauth-flow.ts";

let srv: TestServer;
let clientId: string;
let adminKey: string;
let workspaceId: string;
const redirectUri = "http://127.0.0.1:9/callback";
const UNAUTHORIZED = { error: { code: "unauthorized", message: "Missing or invalid credentials" } };
const secrets: string[] = [];

beforeAll(async () => {
  // Every flow here comes from one loopback address: the per-address OAuth budget is not under test.
  srv = await startTestServer({ env: { OAUTH_IP_RATE_LIMIT_PER_MINUTE: "100000" } });
  ({ client_id: clientId } = await registerClient(srv, { redirectUris: [redirectUri], scopes: ["read", "generate"] }));
  ({ key: adminKey, workspace_id: workspaceId } = await srv.createKey({ scopes: ["admin", "read", "generate"] }));
  secrets.push(adminKey);
});
afterAll(() => srv?.close());

const flow = () => ({ clientId, redirectUri, adminKey });

async function me(credential: string) {
  const res = await srv.request("/v1/me", { key: credential });
  return { status: res.status, body: (await res.json()) as any };
}

async function expect401(credential: string) {
  const { status, body } = await me(credential);
  expect(status).toBe(401);
  expect(body).toEqual(UNAUTHORIZED);
}

function remember<T extends Record<string, any>>(t: T): T {
  for (const k of ["access_token", "refresh_token", "code", "verifier"]) if (typeof t[k] === "string") secrets.push(t[k]);
  return t;
}

describe("full PKCE round trip", () => {
  it("authorize → consent → token → API call → refresh → reuse detection → revoke", async () => {
    // verifier → challenge → authorize → consent approve → code
    const { code, verifier } = remember(await authorizationCode(srv, { ...flow(), scope: "read generate" }));
    // code → tokens
    const first = await token(srv, { grant_type: "authorization_code", client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier });
    expect(first.res.status).toBe(200);
    expect(first.res.headers.get("cache-control")).toBe("no-store");
    remember(first.body);
    expect(first.body).toMatchObject({ token_type: "Bearer", expires_in: 900, scope: "generate read" });
    expect(first.body.refresh_token).toMatch(/^rt_/);

    // the JWT is accepted like an API key and bound to the approving key's workspace
    const call = await me(first.body.access_token);
    expect(call.status).toBe(200);
    expect(call.body.workspace.id).toBe(workspaceId);
    expect(call.body.api_key.scopes).toEqual(["generate", "read"]);

    // refresh rotates
    const second = await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: first.body.refresh_token });
    expect(second.res.status).toBe(200);
    remember(second.body);
    expect(second.body.refresh_token).not.toBe(first.body.refresh_token);
    expect((await me(second.body.access_token)).status).toBe(200);

    // reuse of the rotated refresh token → 400 invalid_grant and the whole family dies
    const reuse = await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: first.body.refresh_token });
    expect(reuse.res.status).toBe(400);
    expect(reuse.body.error.code).toBe("invalid_grant");
    expect(reuse.res.headers.get("cache-control")).toBe("no-store");
    await expect401(second.body.access_token);
    await expect401(first.body.access_token);
    const afterReuse = await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: second.body.refresh_token });
    expect(afterReuse.res.status).toBe(400);
    expect(afterReuse.body.error.code).toBe("invalid_grant");

    // revoke (a fresh grant): access token by jti, then the refresh token's family
    const third = remember(await tokensFor(srv, flow()));
    const revokeAccess = await srv.request("/v1/oauth/revoke", { method: "POST", body: form({ token: third.access_token, token_type_hint: "access_token" }) });
    expect(revokeAccess.status).toBe(200);
    await expect401(third.access_token);
    const refreshed = remember((await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: third.refresh_token })).body);
    expect((await me(refreshed.access_token)).status).toBe(200);
    const revokeRefresh = await srv.request("/v1/oauth/revoke", { method: "POST", body: form({ token: refreshed.refresh_token }) });
    expect(revokeRefresh.status).toBe(200);
    await expect401(refreshed.access_token);
    expect((await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: refreshed.refresh_token })).res.status).toBe(400);
  });
});

describe("authorization code grant", () => {
  it("a reused code answers 400 invalid_grant and revokes the tokens it issued", async () => {
    const { code, verifier } = remember(await authorizationCode(srv, flow()));
    const exchange = () => token(srv, { grant_type: "authorization_code", client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier });
    const first = await exchange();
    expect(first.res.status).toBe(200);
    remember(first.body);
    expect((await me(first.body.access_token)).status).toBe(200);
    const second = await exchange();
    expect(second.res.status).toBe(400);
    expect(second.body.error.code).toBe("invalid_grant");
    await expect401(first.body.access_token);
    expect((await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: first.body.refresh_token })).res.status).toBe(400);
  });

  it.each([
    ["a wrong verifier", (c: { verifier: string }) => ({ code_verifier: c.verifier.slice(1) + "A" })],
    ["a different redirect_uri", () => ({ redirect_uri: "http://127.0.0.1:9/other" })],
    ["another client_id", () => ({ client_id: "client_other" })],
    ["an unknown code", () => ({ code: "ac_unknown" })],
  ])("answers 400 invalid_grant for %s, and the code is burnt", async (_why, change) => {
    const c = remember(await authorizationCode(srv, flow()));
    const base = { grant_type: "authorization_code", client_id: clientId, code: c.code, redirect_uri: redirectUri, code_verifier: c.verifier };
    const bad = await token(srv, { ...base, ...change(c) });
    expect(bad.res.status).toBe(400);
    expect(bad.body.error.code).toBe("invalid_grant");
    if (!("code" in change(c))) expect((await token(srv, base)).res.status).toBe(400);
  });

  it("refuses an expired code", async () => {
    const c = remember(await authorizationCode(srv, flow()));
    await srv.runtime.db.prisma.oAuthCode.updateMany({ where: { usedAt: null }, data: { expiresAt: new Date(Date.now() - 1) } });
    const res = await token(srv, { grant_type: "authorization_code", client_id: clientId, code: c.code, redirect_uri: redirectUri, code_verifier: c.verifier });
    expect(res.res.status).toBe(400);
    expect(res.body.error.code).toBe("invalid_grant");
  });

  it("answers invalid_request for missing parameters and a malformed verifier, and 400 for an unknown grant type", async () => {
    const missing = await token(srv, { grant_type: "authorization_code", client_id: clientId, code: "ac_x" });
    expect(missing.res.status).toBe(400);
    expect(missing.body.error.code).toBe("invalid_request");
    const short = await token(srv, { grant_type: "authorization_code", client_id: clientId, code: "ac_x", redirect_uri: redirectUri, code_verifier: "short" });
    expect(short.body.error.code).toBe("invalid_request");
    const grant = await token(srv, { grant_type: "password", client_id: clientId });
    expect(grant.res.status).toBe(400);
    expect(grant.body.error.code).toBe("invalid_request"); // the spec's enum answers before the handler
    const noRefresh = await token(srv, { grant_type: "refresh_token", client_id: clientId });
    expect(noRefresh.body.error.code).toBe("invalid_request");
  });

  it("concurrent exchanges of one code: at most one succeeds and whatever it issued ends revoked", async () => {
    const c = remember(await authorizationCode(srv, flow()));
    const results = await Promise.all([1, 2, 3].map(() => token(srv, { grant_type: "authorization_code", client_id: clientId, code: c.code, redirect_uri: redirectUri, code_verifier: c.verifier })));
    expect(results.filter((r) => r.res.status === 200).length).toBe(1);
    for (const r of results) if (r.res.status !== 200) expect(r.body.error.code).toBe("invalid_grant");
    for (const r of results) if (r.res.status === 200) await expect401(remember(r.body).access_token);
  });

  it("a refresh token only works for its own client", async () => {
    const t = remember(await tokensFor(srv, flow()));
    const res = await token(srv, { grant_type: "refresh_token", client_id: "client_other", refresh_token: t.refresh_token });
    expect(res.body.error.code).toBe("invalid_grant");
    expect((await token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: t.refresh_token })).res.status).toBe(200);
  });

  it("concurrent presentations of one refresh token: at most one succeeds and the family ends revoked", async () => {
    const t = remember(await tokensFor(srv, flow()));
    const results = await Promise.all([1, 2, 3].map(() => token(srv, { grant_type: "refresh_token", client_id: clientId, refresh_token: t.refresh_token })));
    expect(results.filter((r) => r.res.status === 200).length).toBeLessThanOrEqual(1);
    for (const r of results) if (r.res.status === 200) await expect401(remember(r.body).access_token);
  });
});

describe("access tokens on API routes", () => {
  let good: { access_token: string };
  let privateJwk: JWK;
  let kid: string;

  beforeAll(async () => {
    good = remember(await tokensFor(srv, { ...flow(), scope: "read" }));
    kid = decodeProtectedHeader(good.access_token).kid!;
    const row = await srv.runtime.db.prisma.signingKey.findUnique({ where: { kid } });
    privateJwk = row!.privateJwk as JWK;
  });

  const claims = () => {
    const [, payload] = good.access_token.split(".");
    return JSON.parse(Buffer.from(payload!, "base64url").toString()) as Record<string, unknown>;
  };
  async function signed(overrides: Record<string, unknown>, header: Record<string, unknown> = {}) {
    const key = await importJWK(privateJwk, "ES256");
    return new SignJWT({ ...claims(), ...overrides }).setProtectedHeader({ alg: "ES256", kid, ...header }).sign(key);
  }

  it("accepts the real token and enforces its scopes like an API key's", async () => {
    expect((await me(good.access_token)).status).toBe(200);
    const res = await srv.request("/v1/images/generate", { method: "POST", key: good.access_token, json: { model: "local/image", prompt: "fox" } });
    expect(res.status).toBe(403);
    expect(((await res.json()) as any).error.code).toBe("insufficient_scope");
    expect((await srv.request("/v1/me", { headers: { "x-api-key": good.access_token } })).status).toBe(200);
  });

  it("our own signature with our claims passes (control for the cases below)", async () => {
    expect((await me(await signed({}))).status).toBe(200);
  });

  it.each([
    ["alg none", async () => `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims())).toString("base64url")}.`],
    ["a wrong audience", () => signed({ aud: "someone-else" })],
    ["a wrong issuer", () => signed({ iss: "https://evil.example" })],
    ["an expired token", () => signed({ exp: Math.floor(Date.now() / 1000) - 5 })],
    ["an unknown kid", () => signed({}, { kid: "not-our-key" })],
    ["a tampered payload", async () => {
      const [h, , s] = good.access_token.split(".");
      return `${h}.${Buffer.from(JSON.stringify({ ...claims(), scope: "read generate admin" })).toString("base64url")}.${s}`;
    }],
    ["a tampered signature", async () => good.access_token.slice(0, -4) + (good.access_token.endsWith("AAAA") ? "BBBB" : "AAAA")],
    ["a token signed by another ES256 key under our kid", async () => {
      const { privateKey } = await generateKeyPair("ES256");
      return new SignJWT(claims()).setProtectedHeader({ alg: "ES256", kid }).sign(privateKey);
    }],
    ["HS256 with our public JWK as the secret", async () => {
      const jwks = (await (await srv.request("/v1/oauth/jwks")).json()) as { keys: JWK[] };
      const pub = jwks.keys.find((k) => k.kid === kid)!;
      return new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid }).sign(new TextEncoder().encode(JSON.stringify(pub)));
    }],
    ["HS256 with our public key PEM as the secret", async () => {
      const pub = await importJWK((((await (await srv.request("/v1/oauth/jwks")).json()) as { keys: JWK[] }).keys.find((k) => k.kid === kid))!, "ES256", { extractable: true });
      return new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid }).sign(new TextEncoder().encode(await exportSPKI(pub as CryptoKey)));
    }],
    ["a token of a workspace-less subject", () => signed({ sub: "not-a-uuid" })],
    ["a token whose family does not exist", () => signed({ fid: "3f1c5a8e-2d4b-4c1e-9a7f-0b6d2e8c4a11" })],
    ["a JWT-looking garbage string", async () => "eyJhbGciOiJFUzI1NiJ9.eyJ.x"],
  ])("answers the same 401 for %s", async (_why, make) => {
    await expect401(await make());
  });

  it("answers the same 401 for missing, malformed, unknown and revoked credentials", async () => {
    const none = await srv.request("/v1/me");
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual(UNAUTHORIZED);
    const malformed = await srv.request("/v1/me", { headers: { authorization: "Basic abc" } });
    expect(await malformed.json()).toEqual(UNAUTHORIZED);
    await expect401("sk_live_unknown");
    await expect401("random-junk");
  });
});

describe("revocation endpoint", () => {
  it("answers 200 for unknown, malformed and already revoked tokens", async () => {
    for (const t of ["nope", "rt_unknown", "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"]) {
      const res = await srv.request("/v1/oauth/revoke", { method: "POST", body: form({ token: t }) });
      expect(res.status).toBe(200);
    }
    const t = remember(await tokensFor(srv, flow()));
    for (let i = 0; i < 2; i++) expect((await srv.request("/v1/oauth/revoke", { method: "POST", body: form({ token: t.refresh_token, token_type_hint: "refresh_token" }) })).status).toBe(200);
    await expect401(t.access_token);
  });

  it("does not revoke a token when client_id names another client", async () => {
    const t = remember(await tokensFor(srv, flow()));
    expect((await srv.request("/v1/oauth/revoke", { method: "POST", body: form({ token: t.access_token, client_id: "client_other" }) })).status).toBe(200);
    expect((await me(t.access_token)).status).toBe(200);
  });

  it("answers 400 without a token", async () => {
    expect((await srv.request("/v1/oauth/revoke", { method: "POST", body: form({}) })).status).toBe(400);
  });
});

describe("JWKS and signing-key rotation", () => {
  it("publishes the public keys with cache headers, and they verify our tokens", async () => {
    const t = remember(await tokensFor(srv, flow()));
    const res = await srv.request("/v1/oauth/jwks");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=300");
    const jwks = (await res.json()) as { keys: JWK[] };
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(k.d).toBeUndefined();
    }
    const { payload, protectedHeader } = await jwtVerify(t.access_token, createLocalJWKSet(jwks as never), { issuer: srv.config.publicUrl, audience: "aeriox-api" });
    expect(protectedHeader.alg).toBe("ES256");
    expect(payload).toMatchObject({ sub: workspaceId, client_id: clientId, scope: "generate read" });
    expect(typeof payload.jti).toBe("string");
    expect(payload.exp! - payload.iat!).toBe(900);
  });

  it("after rotation new tokens use the new key, old tokens keep working, and JWKS lists both", async () => {
    const before = remember(await tokensFor(srv, flow()));
    const oldKid = decodeProtectedHeader(before.access_token).kid;
    const { kid: newKid } = (await runAdminCommand(srv.runtime, "oauth-keys.rotate", {})) as { kid: string };
    expect(newKid).not.toBe(oldKid);
    const after = remember(await tokensFor(srv, flow()));
    expect(decodeProtectedHeader(after.access_token).kid).toBe(newKid);
    expect((await me(before.access_token)).status).toBe(200);
    expect((await me(after.access_token)).status).toBe(200);
    const kids = (((await (await srv.request("/v1/oauth/jwks")).json()) as { keys: JWK[] }).keys).map((k) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(kids[0]).toBe(newKid);
  });
});

describe("logs", () => {
  it("never contain codes, verifiers, refresh tokens, access tokens or API keys", () => {
    const all = srv.logs.join("\n");
    expect(secrets.length).toBeGreaterThan(20);
    for (const secret of secrets) expect(all).not.toContain(secret);
  });
});
