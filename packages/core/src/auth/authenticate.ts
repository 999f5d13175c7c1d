/**
 * Resolves a presented credential (API key or OAuth access token) to a Principal,
 * through the runtime's short-lived credential cache when it has one
 * (credential-cache.ts: a revoked key fails everywhere within its TTL).
 */
import type { Runtime } from "../runtime.ts";
import type { CredentialCache } from "./credential-cache.ts";
import { hashApiKey, KEY_PREFIX } from "./api-keys.ts";
import type { Principal, Scope } from "./principal.ts";
import { authenticateAccessToken, looksLikeJwt } from "./oauth/access-tokens.ts";

type Services = Pick<Runtime, "db" | "config"> & { credentials?: CredentialCache };

const lastUsedWrites = new Map<string, number>();
const LAST_USED_INTERVAL_MS = 60_000;

interface Resolved {
  principal: Principal;
  expiresAt: Date | null;
}

async function authenticateApiKey(services: Services, key: string): Promise<Resolved | null> {
  const record = await services.db.prisma.apiKey.findUnique({ where: { keyHash: hashApiKey(key) } });
  if (!record || record.revokedAt) return null;
  if (record.expiresAt && record.expiresAt.getTime() <= Date.now()) return null;
  // last_used_at is informative: write it at most once a minute per key, off the request path.
  const now = Date.now();
  if ((lastUsedWrites.get(record.id) ?? 0) + LAST_USED_INTERVAL_MS < now) {
    lastUsedWrites.set(record.id, now);
    services.db.prisma.apiKey.update({ where: { id: record.id }, data: { lastUsedAt: new Date(now) } }).catch(() => undefined);
  }
  const principal: Principal = {
    kind: "api_key",
    workspaceId: record.workspaceId,
    apiKeyId: record.id,
    keyPrefix: record.prefix,
    scopes: record.scopes as Scope[],
    dailySpendCapMicros: record.dailySpendCapMicros,
    monthlyBudgetMicros: record.monthlyBudgetMicros,
    allowedModels: record.allowedModels.length > 0 ? record.allowedModels : null,
    clientId: null,
  };
  return { principal, expiresAt: record.expiresAt };
}

export async function authenticateCredential(services: Services, credential: string): Promise<Principal | null> {
  const cached = services.credentials?.get(credential);
  if (cached !== undefined) return cached;
  let resolved: Resolved | null = null;
  if (credential.startsWith(KEY_PREFIX)) resolved = await authenticateApiKey(services, credential);
  // OAuth access token: ES256 JWT, signature checked against our keys, revocation against the DB.
  else if (looksLikeJwt(credential)) resolved = await authenticateAccessToken(services, credential);
  else return null;
  services.credentials?.set(credential, resolved?.principal ?? null, resolved?.expiresAt);
  return resolved?.principal ?? null;
}
