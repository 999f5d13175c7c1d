/**
 * The token endpoint's grants.
 *
 * authorization_code: the code is claimed atomically (used_at NULL → now) in the same
 * transaction that creates the token family and its first refresh token and records the
 * family on the code. A second presentation of a code finds it used and revokes that
 * family (RFC 6749 §4.1.2: tokens issued from a reused code are revoked). A claimed code
 * that then fails a check (client, redirect URI, verifier, expiry) stays burnt.
 *
 * refresh_token: rotation. The presented token is marked rotated (compare-and-set) and
 * a new one issued in the same family; presenting a rotated or revoked token revokes
 * the whole family — its refresh tokens and, via the `fid` claim, its access tokens.
 */
import type { Config } from "../../config.ts";
import type { Database, TransactionClient } from "../../db/index.ts";
import { issueAccessToken } from "./access-tokens.ts";
import { oauthError } from "./errors.ts";
import { isValidCodeVerifier, verifierMatchesChallenge } from "./pkce.ts";
import { hashSecret, newSecret, REFRESH_TOKEN_PREFIX } from "./secrets.ts";
import { signingKeys } from "./signing-keys.ts";
import { revokeFamily } from "./revocation.ts";
import type { CredentialCache } from "../credential-cache.ts";

export const REFRESH_TOKEN_TTL_MS = 30 * 86400_000;

type Services = { db: Database; config: Config; credentials?: CredentialCache };

export interface TokenRequest {
  grant_type?: string | undefined;
  client_id?: string | undefined;
  code?: string | undefined;
  redirect_uri?: string | undefined;
  code_verifier?: string | undefined;
  refresh_token?: string | undefined;
}

export interface TokenResponse {
  access_token: string;
  token_type: "Bearer";
  expires_in: number;
  refresh_token: string;
  scope: string;
}

const badGrant = (message: string) => oauthError("invalid_grant", message);

async function newRefreshToken(tx: TransactionClient, family: { id: string; clientId: string; workspaceId: string }, scopes: string[]): Promise<string> {
  const token = newSecret(REFRESH_TOKEN_PREFIX);
  await tx.oAuthRefreshToken.create({
    data: {
      tokenHash: hashSecret(token),
      familyId: family.id,
      clientId: family.clientId,
      workspaceId: family.workspaceId,
      scopes,
      expiresAt: new Date(Date.now() + REFRESH_TOKEN_TTL_MS),
    },
  });
  return token;
}

async function respond(services: Services, family: { id: string; clientId: string; workspaceId: string }, scopes: string[], refreshToken: string): Promise<TokenResponse> {
  const access = await issueAccessToken(services, { workspaceId: family.workspaceId, clientId: family.clientId, scopes, familyId: family.id });
  return { access_token: access.token, token_type: "Bearer", expires_in: access.expiresIn, refresh_token: refreshToken, scope: scopes.join(" ") };
}

export async function exchangeAuthorizationCode(services: Services, req: TokenRequest): Promise<TokenResponse> {
  const { db } = services;
  if (!req.code || !req.redirect_uri || !req.code_verifier || !req.client_id) {
    throw oauthError("invalid_request", "authorization_code needs code, redirect_uri, code_verifier and client_id");
  }
  if (!isValidCodeVerifier(req.code_verifier)) throw oauthError("invalid_request", "code_verifier must be 43-128 unreserved characters");
  // Load the signing key outside the transaction (PGlite: no db.prisma calls inside one).
  await signingKeys(db).currentKey();
  const codeHash = hashSecret(req.code);
  const now = new Date();

  const outcome = await db.prisma.$transaction(async (tx) => {
    const claimed = await tx.oAuthCode.updateMany({ where: { codeHash, usedAt: null }, data: { usedAt: now } });
    const code = await tx.oAuthCode.findUnique({ where: { codeHash } });
    if (!code) return { error: "Unknown authorization code" } as const;
    if (claimed.count !== 1) {
      if (code.familyId) await revokeFamily(tx, code.familyId);
      return { error: "Authorization code already used; the tokens it issued are revoked", revoked: true } as const;
    }
    if (code.expiresAt.getTime() <= now.getTime()) return { error: "Authorization code expired" } as const;
    if (code.clientId !== req.client_id) return { error: "Authorization code was issued to another client" } as const;
    if (code.redirectUri !== req.redirect_uri) return { error: "redirect_uri does not match the authorization request" } as const;
    if (!verifierMatchesChallenge(req.code_verifier!, code.codeChallenge)) return { error: "code_verifier does not match the code_challenge" } as const;
    const family = await tx.oAuthTokenFamily.create({ data: { clientId: code.clientId, workspaceId: code.workspaceId, codeHash } });
    await tx.oAuthCode.update({ where: { codeHash }, data: { familyId: family.id } });
    const refreshToken = await newRefreshToken(tx, family, code.scopes);
    return { family, scopes: code.scopes, refreshToken } as const;
  });
  if ("error" in outcome) {
    if ("revoked" in outcome) services.credentials?.forgetOAuth(); // the family's access tokens die here at once
    throw badGrant(outcome.error!);
  }
  return respond(services, outcome.family, outcome.scopes, outcome.refreshToken);
}

export async function refreshAccessToken(services: Services, req: TokenRequest): Promise<TokenResponse> {
  const { db } = services;
  if (!req.refresh_token || !req.client_id) throw oauthError("invalid_request", "refresh_token grant needs refresh_token and client_id");
  await signingKeys(db).currentKey();
  const tokenHash = hashSecret(req.refresh_token);
  const now = new Date();

  const outcome = await db.prisma.$transaction(async (tx) => {
    const token = await tx.oAuthRefreshToken.findUnique({ where: { tokenHash }, include: { family: true } });
    if (!token) return { error: "Unknown refresh token" } as const;
    if (token.clientId !== req.client_id) return { error: "Refresh token was issued to another client" } as const;
    if (token.family.revokedAt || token.revokedAt) return { error: "Refresh token revoked" } as const;
    const rotated = await tx.oAuthRefreshToken.updateMany({ where: { id: token.id, rotatedAt: null, revokedAt: null }, data: { rotatedAt: now } });
    if (rotated.count !== 1) {
      await revokeFamily(tx, token.familyId);
      return { error: "Refresh token already used; its token family is revoked", revoked: true } as const;
    }
    if (token.expiresAt.getTime() <= now.getTime()) return { error: "Refresh token expired" } as const;
    const refreshToken = await newRefreshToken(tx, token.family, token.scopes);
    return { family: token.family, scopes: token.scopes, refreshToken } as const;
  });
  if ("error" in outcome) {
    if ("revoked" in outcome) services.credentials?.forgetOAuth(); // the family's access tokens die here at once
    throw badGrant(outcome.error!);
  }
  return respond(services, outcome.family, outcome.scopes, outcome.refreshToken);
}

export async function tokenGrant(services: Services, req: TokenRequest): Promise<TokenResponse> {
  if (req.grant_type === "authorization_code") return exchangeAuthorizationCode(services, req);
  if (req.grant_type === "refresh_token") return refreshAccessToken(services, req);
  throw oauthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token");
}
