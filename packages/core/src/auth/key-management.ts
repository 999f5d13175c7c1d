/**
 * Issuing, listing, rotating and revoking API keys. The first key of a workspace
 * credits the free trial, once, in the same transaction.
 *
 * Keys managed through the API never exceed the key that manages them
 * (ARCHITECTURE.md, Access): no scope it lacks, no looser daily spend cap, and an
 * OAuth access token manages no keys at all (a key it minted would outlive the
 * revoked grant). Active keys per workspace are bounded. The operator's admin
 * commands (`aeriox keys …`) are not bound by any of this.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import type { TransactionClient } from "../db/index.ts";
import { microsToUsd } from "../money.ts";
import { createApiKey, normalizeScopes, type ApiKeyRecord, type CreateApiKeyInput } from "./api-keys.ts";
import { creditTrialOnce } from "./trial.ts";
import type { Principal, Scope } from "./principal.ts";
import type { CredentialCache } from "./credential-cache.ts";

type Services = Pick<Runtime, "db" | "config"> & { credentials?: CredentialCache };

/** Keys that count against MAX_ACTIVE_KEYS_PER_WORKSPACE: working, and not already replaced by a rotation. */
function activeKeys(workspaceId: string) {
  return { workspaceId, revokedAt: null, rotatedToId: null, OR: [{ expiresAt: null }, { expiresAt: { gt: new Date() } }] };
}

/** Locks the workspace row so that two creates at the limit cannot both count the same free slot. */
async function assertBelowKeyLimit(tx: TransactionClient, workspaceId: string, maxActiveKeys: number): Promise<void> {
  await tx.$queryRaw`SELECT id FROM workspaces WHERE id = ${workspaceId}::uuid FOR UPDATE`;
  const active = await tx.apiKey.count({ where: activeKeys(workspaceId) });
  if (active >= maxActiveKeys) {
    throw ApiError.conflict("key_limit_reached", `This workspace already has ${active} active API keys (the limit is ${maxActiveKeys}); revoke one first`, {
      active_keys: active,
      max_active_keys: maxActiveKeys,
    });
  }
}

export async function issueApiKey(
  services: Services,
  input: CreateApiKeyInput,
  limits: { maxActiveKeys?: number } = {},
): Promise<{ key: string; record: ApiKeyRecord }> {
  return services.db.prisma.$transaction(async (tx) => {
    if (limits.maxActiveKeys !== undefined) await assertBelowKeyLimit(tx, input.workspaceId, limits.maxActiveKeys);
    const issued = await createApiKey(tx, input);
    await creditTrialOnce(tx, services.config, input.workspaceId);
    return issued;
  });
}

function assertCanManageKeys(creator: Principal): void {
  if (creator.kind !== "api_key") {
    throw ApiError.forbidden("oauth_token_cannot_manage_keys", "OAuth access tokens cannot create or rotate API keys; use an API key with the admin scope");
  }
}

/** 403 unless a key with `scopes` and `capMicros` (null: none) is within what `creator` has. */
function assertWithinCreator(creator: Principal, scopes: readonly Scope[], capMicros: bigint | null): void {
  const exceeding = scopes.filter((s) => !creator.scopes.includes(s));
  if (exceeding.length > 0) {
    throw ApiError.forbidden("insufficient_scope", `A key cannot give scopes it does not have: ${exceeding.join(", ")}`, {
      exceeding_scopes: exceeding,
      granted_scopes: creator.scopes,
    });
  }
  const creatorCap = creator.dailySpendCapMicros;
  if (creatorCap !== null && (capMicros === null || capMicros > creatorCap)) {
    throw ApiError.forbidden(
      "spend_cap_exceeds_creator",
      `A key with a daily spend cap of ${microsToUsd(creatorCap)} USD cannot give ${capMicros === null ? "no cap" : `a cap of ${microsToUsd(capMicros)} USD`}`,
      { daily_spend_cap_usd: microsToUsd(creatorCap) },
    );
  }
}

export interface KeyRequest {
  name?: string | null;
  /** Omitted: the creator's scopes. */
  scopes?: readonly string[];
  /** Omitted: the creator's cap; null: no cap. */
  dailySpendCapMicros?: bigint | null;
}

/** `POST /v1/api-keys`: a key of the creator's workspace, at most as powerful as the creator. */
export async function issueApiKeyAs(services: Services, creator: Principal, request: KeyRequest): Promise<{ key: string; record: ApiKeyRecord }> {
  assertCanManageKeys(creator);
  const scopes = request.scopes === undefined ? creator.scopes : normalizeScopes(request.scopes);
  const capMicros = request.dailySpendCapMicros === undefined ? creator.dailySpendCapMicros : request.dailySpendCapMicros;
  assertWithinCreator(creator, scopes, capMicros);
  return issueApiKey(
    services,
    { workspaceId: creator.workspaceId, name: request.name ?? null, scopes, dailySpendCapMicros: capMicros },
    { maxActiveKeys: services.config.MAX_ACTIVE_KEYS_PER_WORKSPACE },
  );
}

/** The spec's ApiKey shape (no secret, ever). */
export function apiKeyBody(record: ApiKeyRecord) {
  return {
    id: record.id,
    prefix: record.prefix,
    name: record.name,
    scopes: record.scopes as Scope[],
    daily_spend_cap_usd: record.dailySpendCapMicros === null ? null : microsToUsd(record.dailySpendCapMicros),
    created_at: record.createdAt.toISOString(),
    last_used_at: record.lastUsedAt?.toISOString() ?? null,
    expires_at: record.expiresAt?.toISOString() ?? null,
    revoked_at: record.revokedAt?.toISOString() ?? null,
  };
}

export async function listApiKeys(services: Pick<Runtime, "db">, workspaceId: string): Promise<ApiKeyRecord[]> {
  return services.db.prisma.apiKey.findMany({ where: { workspaceId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] });
}

async function findWorkspaceKey(services: Pick<Runtime, "db">, workspaceId: string, keyId: string): Promise<ApiKeyRecord> {
  const record = await services.db.prisma.apiKey.findFirst({ where: { id: keyId, workspaceId } });
  if (!record) throw ApiError.notFound("API key");
  return record;
}

export async function revokeApiKey(services: Pick<Runtime, "db"> & { credentials?: CredentialCache }, workspaceId: string, keyId: string): Promise<ApiKeyRecord> {
  const record = await findWorkspaceKey(services, workspaceId, keyId);
  const { count } = await services.db.prisma.apiKey.updateMany({ where: { id: keyId, workspaceId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (count === 0) throw ApiError.conflict("already_revoked", "This API key is already revoked", { revoked_at: record.revokedAt?.toISOString() ?? null });
  services.credentials?.forgetKey(keyId); // other processes: within CREDENTIAL_CACHE_MS
  return findWorkspaceKey(services, workspaceId, keyId);
}

/**
 * A new key with the same name, scopes and cap; the old one keeps working until
 * `old_expires_at` (KEY_ROTATION_GRACE_SECONDS), then answers 401. A revoked, expired
 * or already rotated key cannot be rotated (409). The CAS on `rotated_to_id` makes
 * two concurrent rotations produce one new key. With a `rotator` (the API caller),
 * only a key within the rotator's own scopes and cap can be rotated: the new
 * plaintext would otherwise hand the rotator more than it has.
 */
export async function rotateApiKey(
  services: Services,
  workspaceId: string,
  keyId: string,
  rotator?: Principal,
): Promise<{ key: string; record: ApiKeyRecord; oldExpiresAt: Date }> {
  if (rotator) assertCanManageKeys(rotator);
  const old = await findWorkspaceKey(services, workspaceId, keyId);
  if (rotator) assertWithinCreator(rotator, old.scopes as Scope[], old.dailySpendCapMicros);
  const refuse = (why: string) => ApiError.conflict("key_not_rotatable", `This API key cannot be rotated: it is ${why}`);
  if (old.revokedAt) throw refuse("revoked");
  if (old.rotatedToId) throw refuse("already rotated");
  if (old.expiresAt && old.expiresAt.getTime() <= Date.now()) throw refuse("expired");
  const oldExpiresAt = new Date(Date.now() + services.config.KEY_ROTATION_GRACE_SECONDS * 1000);
  return services.db.prisma.$transaction(async (tx) => {
    const issued = await createApiKey(tx, {
      workspaceId,
      name: old.name,
      scopes: old.scopes as Scope[],
      dailySpendCapMicros: old.dailySpendCapMicros,
    });
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, workspaceId, revokedAt: null, rotatedToId: null },
      data: { rotatedToId: issued.record.id, expiresAt: oldExpiresAt },
    });
    if (count === 0) throw refuse("already rotated");
    services.credentials?.forgetKey(keyId); // its cached entry does not know the new expiry
    return { ...issued, oldExpiresAt };
  });
}
