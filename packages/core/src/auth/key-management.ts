/**
 * Issuing, listing, rotating and revoking API keys. The first key of a workspace
 * credits the free trial, once, in the same transaction.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { microsToUsd } from "../money.ts";
import { createApiKey, type ApiKeyRecord, type CreateApiKeyInput } from "./api-keys.ts";
import { creditTrialOnce } from "./trial.ts";
import type { Scope } from "./principal.ts";

type Services = Pick<Runtime, "db" | "config">;

export async function issueApiKey(services: Services, input: CreateApiKeyInput): Promise<{ key: string; record: ApiKeyRecord }> {
  return services.db.prisma.$transaction(async (tx) => {
    const issued = await createApiKey(tx, input);
    await creditTrialOnce(tx, services.config, input.workspaceId);
    return issued;
  });
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

export async function revokeApiKey(services: Pick<Runtime, "db">, workspaceId: string, keyId: string): Promise<ApiKeyRecord> {
  const record = await findWorkspaceKey(services, workspaceId, keyId);
  const { count } = await services.db.prisma.apiKey.updateMany({ where: { id: keyId, workspaceId, revokedAt: null }, data: { revokedAt: new Date() } });
  if (count === 0) throw ApiError.conflict("already_revoked", "This API key is already revoked", { revoked_at: record.revokedAt?.toISOString() ?? null });
  return findWorkspaceKey(services, workspaceId, keyId);
}

/**
 * A new key with the same name, scopes and cap; the old one keeps working until
 * `old_expires_at` (KEY_ROTATION_GRACE_SECONDS), then answers 401. A revoked, expired
 * or already rotated key cannot be rotated (409). The CAS on `rotated_to_id` makes
 * two concurrent rotations produce one new key.
 */
export async function rotateApiKey(services: Services, workspaceId: string, keyId: string): Promise<{ key: string; record: ApiKeyRecord; oldExpiresAt: Date }> {
  const old = await findWorkspaceKey(services, workspaceId, keyId);
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
    return { ...issued, oldExpiresAt };
  });
}
