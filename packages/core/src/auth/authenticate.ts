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

// One statement on the raw driver (every request whose key is not cached reads it; Prisma's adapter cost several times more).
// The workspace's fields come with it, for `GET /v1/me` (principal.ts).
const API_KEY_SQL = `SELECT k.id::text AS id, k.workspace_id::text AS workspace_id, k.prefix, k.scopes, k.daily_spend_cap_micros, k.monthly_budget_micros,
  k.allowed_models, k.expires_at, k.revoked_at, w.name AS workspace_name, w.plan AS workspace_plan, w.created_at AS workspace_created_at
  FROM api_keys k JOIN workspaces w ON w.id = k.workspace_id WHERE k.key_hash = $1`;

interface ApiKeyRow {
  id: string;
  workspace_id: string;
  prefix: string;
  scopes: string[];
  daily_spend_cap_micros: bigint | null;
  monthly_budget_micros: bigint | null;
  allowed_models: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  workspace_name: string;
  workspace_plan: string;
  workspace_created_at: Date;
}

async function authenticateApiKey(services: Services, key: string): Promise<Resolved | null> {
  const [row] = await services.db.query<ApiKeyRow>(API_KEY_SQL, [hashApiKey(key)], { prepared: true });
  if (!row || row.revoked_at) return null;
  const record = {
    id: row.id,
    workspaceId: row.workspace_id,
    prefix: row.prefix,
    scopes: row.scopes,
    dailySpendCapMicros: row.daily_spend_cap_micros,
    monthlyBudgetMicros: row.monthly_budget_micros,
    allowedModels: row.allowed_models,
    expiresAt: row.expires_at,
  };
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
    workspace: { name: row.workspace_name, plan: row.workspace_plan, createdAt: row.workspace_created_at },
  };
  return { principal, expiresAt: record.expiresAt };
}

export async function authenticateCredential(services: Services, credential: string): Promise<Principal | null> {
  let lookup: () => Promise<Resolved | null>;
  if (credential.startsWith(KEY_PREFIX)) lookup = () => authenticateApiKey(services, credential);
  // OAuth access token: ES256 JWT, signature checked against our keys, revocation against the DB.
  else if (looksLikeJwt(credential)) lookup = () => authenticateAccessToken(services, credential);
  else return null;
  // Cached, or one lookup shared by the concurrent requests that present this credential.
  if (services.credentials) return services.credentials.load(credential, lookup);
  return (await lookup())?.principal ?? null;
}
