/**
 * Access tokens: ES256 JWTs (header `kid`), claims iss/aud/sub/client_id/scope/jti/
 * iat/exp and `fid` (the token family, so revoking a family stops its access tokens).
 *
 * Verification accepts ES256 only (so `alg: none` and HS256-with-the-public-key are
 * refused), a known, non-expired signing key, our issuer and audience, and then asks
 * the database — on every request, no cache — whether the jti or the family has been
 * revoked: one round trip, so a revocation takes effect on the next request.
 */
import { randomUUID } from "node:crypto";
import { decodeProtectedHeader, jwtVerify, SignJWT, type JWTPayload } from "jose";
import type { Config } from "../../config.ts";
import type { Database } from "../../db/index.ts";
import { SCOPES, type Principal, type Scope } from "../principal.ts";
import { ACCESS_TOKEN_ALG, signingKeys } from "./signing-keys.ts";
import { isUuid } from "../../ids.ts";

export const ACCESS_TOKEN_AUDIENCE = "aeriox-api";

type Services = { db: Database; config: Pick<Config, "publicUrl" | "OAUTH_ACCESS_TOKEN_TTL_SECONDS"> };

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  client_id: string;
  scope: string;
  jti: string;
  fid: string;
  exp: number;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(credential: string): boolean {
  return credential.length < 8192 && credential.startsWith("eyJ") && JWT_SHAPE.test(credential);
}

export async function issueAccessToken(
  services: Services,
  grant: { workspaceId: string; clientId: string; scopes: readonly string[]; familyId: string },
): Promise<{ token: string; expiresIn: number; jti: string }> {
  const key = await signingKeys(services.db).currentKey();
  const expiresIn = services.config.OAUTH_ACCESS_TOKEN_TTL_SECONDS;
  const jti = randomUUID();
  const token = await new SignJWT({ client_id: grant.clientId, scope: grant.scopes.join(" "), fid: grant.familyId })
    .setProtectedHeader({ alg: ACCESS_TOKEN_ALG, kid: key.kid, typ: "at+jwt" })
    .setIssuer(services.config.publicUrl)
    .setAudience(ACCESS_TOKEN_AUDIENCE)
    .setSubject(grant.workspaceId)
    .setJti(jti)
    .setIssuedAt()
    .setExpirationTime(`${expiresIn}s`)
    .sign(key.privateKey);
  return { token, expiresIn, jti };
}

/** Signature, algorithm, issuer, audience, expiry and claim shapes; no revocation check. */
export async function verifyAccessTokenSignature(
  services: Services,
  token: string,
  options: { ignoreExpiry?: boolean } = {},
): Promise<AccessTokenClaims | null> {
  if (!looksLikeJwt(token)) return null;
  try {
    const header = decodeProtectedHeader(token);
    if (header.alg !== ACCESS_TOKEN_ALG || typeof header.kid !== "string") return null;
    const key = await signingKeys(services.db).verificationKey(header.kid);
    if (!key) return null;
    const { payload } = await jwtVerify(token, key, {
      algorithms: [ACCESS_TOKEN_ALG],
      issuer: services.config.publicUrl,
      audience: ACCESS_TOKEN_AUDIENCE,
      requiredClaims: ["sub", "jti", "exp", "iat"],
      ...(options.ignoreExpiry ? { currentDate: new Date(0) } : {}),
    });
    const c = payload as Partial<AccessTokenClaims>;
    if (!isUuid(c.sub)) return null;
    if (!isUuid(c.fid)) return null;
    if (typeof c.client_id !== "string" || typeof c.scope !== "string" || typeof c.jti !== "string") return null;
    return c as AccessTokenClaims;
  } catch {
    return null;
  }
}

/** True when the token's jti or its family is revoked (or the family is gone). */
export async function isAccessTokenRevoked(db: Database, claims: Pick<AccessTokenClaims, "jti" | "fid">): Promise<boolean> {
  const rows = await db.prisma.$queryRaw<Array<{ jti_revoked: boolean; family_ok: boolean }>>`
    SELECT EXISTS (SELECT 1 FROM oauth_revoked_jtis WHERE jti = ${claims.jti}) AS jti_revoked,
           EXISTS (SELECT 1 FROM oauth_token_families WHERE id = ${claims.fid}::uuid AND revoked_at IS NULL) AS family_ok`;
  const row = rows[0];
  return !row || row.jti_revoked || !row.family_ok;
}

export async function authenticateAccessToken(services: Services, token: string): Promise<{ principal: Principal; expiresAt: Date } | null> {
  const claims = await verifyAccessTokenSignature(services, token);
  if (!claims) return null;
  if (await isAccessTokenRevoked(services.db, claims)) return null;
  const scopes = SCOPES.filter((s) => claims.scope.split(" ").includes(s)) as Scope[];
  const principal: Principal = {
    kind: "oauth",
    workspaceId: claims.sub,
    apiKeyId: null,
    keyPrefix: null,
    scopes,
    dailySpendCapMicros: null,
    clientId: claims.client_id,
  };
  return { principal, expiresAt: new Date(claims.exp * 1000) };
}
