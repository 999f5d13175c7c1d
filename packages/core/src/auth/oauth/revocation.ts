/**
 * Revocation (RFC 7009) and family revocation. Revoking a family marks it and all its
 * refresh tokens revoked; its access tokens die with it because verification checks
 * the family (`fid` claim). A single access token is revoked by its jti until its exp.
 */
import type { Config } from "../../config.ts";
import type { Database, DbClient } from "../../db/index.ts";
import { looksLikeJwt, verifyAccessTokenSignature } from "./access-tokens.ts";
import { hashSecret } from "./secrets.ts";
import type { CredentialCache } from "../credential-cache.ts";

export async function revokeFamily(db: DbClient, familyId: string): Promise<void> {
  const now = new Date();
  await db.oAuthTokenFamily.updateMany({ where: { id: familyId, revokedAt: null }, data: { revokedAt: now } });
  await db.oAuthRefreshToken.updateMany({ where: { familyId, revokedAt: null }, data: { revokedAt: now } });
}

/**
 * Revokes whatever `token` is; unknown, malformed or foreign tokens are ignored (the
 * caller answers 200 regardless). When `client_id` is given it must match the token's.
 */
export async function revokeToken(
  services: { db: Database; config: Config; credentials?: CredentialCache },
  input: { token: string; token_type_hint?: string | undefined; client_id?: string | undefined },
): Promise<void> {
  const { db } = services;
  const asAccessToken = async () => {
    if (!looksLikeJwt(input.token)) return false;
    const claims = await verifyAccessTokenSignature(services, input.token, { ignoreExpiry: true });
    if (!claims || (input.client_id && claims.client_id !== input.client_id)) return false;
    if (claims.exp * 1000 <= Date.now()) return true;
    await db.prisma.oAuthRevokedJti.upsert({ where: { jti: claims.jti }, create: { jti: claims.jti, expiresAt: new Date(claims.exp * 1000) }, update: {} });
    return true;
  };
  const asRefreshToken = async () => {
    if (input.token.length > 500) return false;
    const token = await db.prisma.oAuthRefreshToken.findUnique({ where: { tokenHash: hashSecret(input.token) } });
    if (!token || (input.client_id && token.clientId !== input.client_id)) return false;
    await db.prisma.$transaction((tx) => revokeFamily(tx, token.familyId));
    return true;
  };
  // The hint only orders the lookups (RFC 7009 §2.1).
  const order = input.token_type_hint === "refresh_token" ? [asRefreshToken, asAccessToken] : [asAccessToken, asRefreshToken];
  for (const attempt of order) {
    if (await attempt()) {
      services.credentials?.forgetOAuth(); // this process refuses it from the next request on
      return;
    }
  }
}
