/**
 * OAuth domain code without HTTP: PKCE vectors, redirect-URI rules, signing keys shared
 * by several processes (each process is simulated by its own Database object, i.e. its
 * own key cache, on the same database), rotation and retirement, access-token
 * revocation, and the cost of verifying a JWT per request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeProtectedHeader } from "jose";
import { createTestDatabase, type TestDatabase } from "../src/db/testing.ts";
import type { Database } from "../src/db/index.ts";
import { loadConfig, type Config } from "../src/config.ts";
import { authenticateCredential } from "../src/auth/authenticate.ts";
import { createApiKey } from "../src/auth/api-keys.ts";
import { isValidCodeChallenge, s256Challenge, verifierMatchesChallenge } from "../src/auth/oauth/pkce.ts";
import { redirectUriProblem } from "../src/auth/oauth/clients.ts";
import { RETIRED_KEY_GRACE_MS, rotateSigningKey, signingKeys } from "../src/auth/oauth/signing-keys.ts";
import { issueAccessToken, verifyAccessTokenSignature } from "../src/auth/oauth/access-tokens.ts";
import { revokeFamily, revokeToken } from "../src/auth/oauth/revocation.ts";
import { purgeExpiredOAuthRows } from "../src/auth/oauth/housekeeping.ts";

let db: TestDatabase;
let config: Config;
let workspaceId: string;

/** Another API process on the same database: same tables, separate in-memory key cache. */
const otherProcess = (): Database => ({ ...db });

async function newFamily(): Promise<string> {
  const family = await db.prisma.oAuthTokenFamily.create({ data: { clientId: "client_test", workspaceId } });
  return family.id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  config = loadConfig({ NODE_ENV: "test", DATA_DIR: "/tmp/aeriox-oauth-core-test", PUBLIC_URL: "https://api.test" });
  workspaceId = (await db.prisma.workspace.create({ data: { name: "oauth-core" } })).id;
});
afterAll(() => db?.dispose());

describe("PKCE", () => {
  it("matches RFC 7636 appendix B", () => {
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    expect(s256Challenge(verifier)).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    expect(verifierMatchesChallenge(verifier, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(true);
    expect(verifierMatchesChallenge(verifier + "x", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")).toBe(false);
    // `plain` would compare the verifier itself: never accepted.
    expect(verifierMatchesChallenge(verifier, verifier)).toBe(false);
  });

  it("bounds verifier and challenge shapes", () => {
    expect(verifierMatchesChallenge("short", s256Challenge("short"))).toBe(false);
    expect(isValidCodeChallenge("a".repeat(42))).toBe(false);
    expect(isValidCodeChallenge("a".repeat(43))).toBe(true);
    expect(isValidCodeChallenge("a".repeat(129))).toBe(false);
    expect(isValidCodeChallenge("a".repeat(42) + "=")).toBe(false);
  });
});

describe("redirect URI registration", () => {
  it.each([
    ["https://app.example.com/cb", null],
    ["https://app.example.com/cb?tenant=1", null],
    ["http://localhost:3000/cb", null],
    ["http://127.0.0.1/cb", null],
    ["http://[::1]:8080/cb", null],
    ["http://example.com/cb", "must use https, or http on localhost/127.0.0.1/[::1]"],
    ["http://localhost.evil.com/cb", "must use https, or http on localhost/127.0.0.1/[::1]"],
    ["https://user:pw@app.example.com/cb", "must not contain user information"],
    ["https://app.example.com/cb#frag", "must not contain a fragment"],
    ["javascript:alert(1)", "must use https, or http on localhost/127.0.0.1/[::1]"],
    ["cb", "must be an absolute URI"],
  ])("%s → %s", (uri, problem) => {
    expect(redirectUriProblem(uri)).toBe(problem);
  });
});

describe("signing keys across processes", () => {
  it("concurrent first use by several processes ends with one current key that all of them sign with", async () => {
    const processes = [otherProcess(), otherProcess(), otherProcess()];
    const keys = await Promise.all(processes.map((p) => signingKeys(p).currentKey()));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await db.prisma.signingKey.count({ where: { retiredAt: null } })).toBe(1);
    const row = await db.prisma.signingKey.findFirstOrThrow();
    expect((row.privateJwk as { d?: string }).d).toBeTruthy();
    expect((row.publicJwk as { d?: string }).d).toBeUndefined();
  });

  it("a key rotated by one process verifies at once in another; the old key keeps verifying", async () => {
    const a = otherProcess();
    const b = otherProcess();
    const familyId = await newFamily();
    const grant = { workspaceId, clientId: "client_test", scopes: ["read"], familyId };
    const beforeRotation = await issueAccessToken({ db: a, config }, grant);
    expect(await verifyAccessTokenSignature({ db: b, config }, beforeRotation.token)).not.toBeNull();

    const { kid } = await rotateSigningKey(a);
    const afterRotation = await issueAccessToken({ db: a, config }, grant);
    expect(decodeProtectedHeader(afterRotation.token).kid).toBe(kid);
    // b has never seen the new kid: an unknown kid reloads the keys (at most once a second).
    await new Promise((r) => setTimeout(r, 1100));
    expect(await verifyAccessTokenSignature({ db: b, config }, afterRotation.token)).not.toBeNull();
    expect(await verifyAccessTokenSignature({ db: b, config }, beforeRotation.token)).not.toBeNull();
    const jwks = await signingKeys(b).publicJwks();
    expect(jwks.map((k) => k.kid)).toContain(decodeProtectedHeader(beforeRotation.token).kid);
    expect(jwks[0]!.kid).toBe(kid);
  });

  it("a key retired longer ago than the grace period leaves the JWKS and stops verifying", async () => {
    const p = otherProcess();
    const familyId = await newFamily();
    const old = await issueAccessToken({ db: p, config }, { workspaceId, clientId: "client_test", scopes: ["read"], familyId });
    const oldKid = decodeProtectedHeader(old.token).kid!;
    await rotateSigningKey(p);
    await db.prisma.signingKey.update({ where: { kid: oldKid }, data: { retiredAt: new Date(Date.now() - RETIRED_KEY_GRACE_MS - 1000) } });
    await signingKeys(p).reload();
    expect(await verifyAccessTokenSignature({ db: p, config }, old.token)).toBeNull();
    expect((await signingKeys(p).publicJwks()).map((k) => k.kid)).not.toContain(oldKid);
  });
});

describe("access-token revocation", () => {
  it("a revoked jti or family fails authentication; expired revocations are purged", async () => {
    const familyId = await newFamily();
    const services = { db, config };
    const t1 = await issueAccessToken(services, { workspaceId, clientId: "client_test", scopes: ["read", "generate"], familyId });
    const t2 = await issueAccessToken(services, { workspaceId, clientId: "client_test", scopes: ["read"], familyId });
    const principal = await authenticateCredential(services, t1.token);
    expect(principal).toEqual({ kind: "oauth", workspaceId, apiKeyId: null, keyPrefix: null, scopes: ["generate", "read"], dailySpendCapMicros: null, clientId: "client_test" });

    await revokeToken(services, { token: t1.token });
    expect(await authenticateCredential(services, t1.token)).toBeNull();
    expect(await authenticateCredential(services, t2.token)).not.toBeNull();

    await revokeFamily(db.prisma, familyId);
    expect(await authenticateCredential(services, t2.token)).toBeNull();

    await db.prisma.oAuthRevokedJti.updateMany({ data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await purgeExpiredOAuthRows(db)).jtis).toBeGreaterThanOrEqual(1);
  });

  it("an issuer of another deployment is refused", async () => {
    const familyId = await newFamily();
    const t = await issueAccessToken({ db, config: { ...config, publicUrl: "https://other.test" } }, { workspaceId, clientId: "client_test", scopes: ["read"], familyId });
    expect(await authenticateCredential({ db, config }, t.token)).toBeNull();
  });
});

describe("housekeeping", () => {
  it("deletes pending requests and codes expired for more than a day, keeps recent ones", async () => {
    const old = new Date(Date.now() - 2 * 86400_000);
    const recent = new Date(Date.now() - 60_000);
    const base = { clientId: "client_test", redirectUri: "https://a.test/cb", codeChallenge: "x".repeat(43), scopes: ["read"] };
    await db.prisma.oAuthAuthorizationRequest.createMany({ data: [{ ...base, csrfTokenHash: "h1", expiresAt: old }, { ...base, csrfTokenHash: "h2", expiresAt: recent }] });
    await db.prisma.oAuthCode.createMany({ data: [{ ...base, codeHash: "old", workspaceId, expiresAt: old }, { ...base, codeHash: "recent", workspaceId, expiresAt: recent }] });
    const purged = await purgeExpiredOAuthRows(db);
    expect(purged.requests).toBe(1);
    expect(purged.codes).toBe(1);
    expect(await db.prisma.oAuthCode.findUnique({ where: { codeHash: "recent" } })).not.toBeNull();
  });
});

describe("cost of authentication per request", () => {
  it("measures JWT verification (signature + revocation query) against an API key lookup", async () => {
    const familyId = await newFamily();
    const services = { db, config };
    const { token } = await issueAccessToken(services, { workspaceId, clientId: "client_test", scopes: ["read"], familyId });
    const { key } = await createApiKey(db.prisma, { workspaceId, scopes: ["read"] });
    const { jose } = await import("../src/auth/oauth/testing.ts");
    const verificationKey = (await signingKeys(db).verificationKey(decodeProtectedHeader(token).kid!))!;
    const time = async (n: number, fn: () => Promise<unknown>) => {
      for (let i = 0; i < 20; i++) await fn();
      const start = performance.now();
      for (let i = 0; i < n; i++) await fn();
      return (performance.now() - start) / n;
    };
    const n = 300;
    const signatureOnly = await time(n, () => jose.jwtVerify(token, verificationKey, { algorithms: ["ES256"] }));
    const jwt = await time(n, () => authenticateCredential(services, token));
    const apiKey = await time(n, () => authenticateCredential(services, key));
    console.log(`[${db.kind}] per request: ES256 signature only ${signatureOnly.toFixed(3)} ms, full JWT auth ${jwt.toFixed(3)} ms, API key auth ${apiKey.toFixed(3)} ms`);
    expect(await authenticateCredential(services, token)).not.toBeNull();
    expect(jwt).toBeLessThan(50);
  });
});
