/**
 * Issuing, listing, rotating and revoking API keys. The first key of a workspace
 * credits the free trial, once, in the same transaction.
 *
 * Keys managed through the API never exceed the key that manages them
 * (ARCHITECTURE.md, Access): no scope it lacks, no looser daily spend cap or monthly
 * budget, no model outside its allow-list, and an OAuth access token manages no keys
 * at all (a key it minted would outlive the revoked grant). Active keys per workspace
 * are bounded. The operator's admin commands (`aeriox keys …`) are not bound by any of this.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import type { TransactionClient } from "../db/index.ts";
import { microsToUsd } from "../money.ts";
import type { Catalog } from "../pricing/catalog.ts";
import { budgetResetsAt } from "../wallet/budget-month.ts";
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

/** What a key may do and spend; null: no limit. */
interface KeyLimits {
  scopes: readonly Scope[];
  capMicros: bigint | null;
  budgetMicros: bigint | null;
  /** null (or empty): every model. */
  allowedModels: readonly string[] | null;
}

function limitsOf(record: ApiKeyRecord): KeyLimits {
  return {
    scopes: record.scopes as Scope[],
    capMicros: record.dailySpendCapMicros,
    budgetMicros: record.monthlyBudgetMicros,
    allowedModels: record.allowedModels.length > 0 ? record.allowedModels : null,
  };
}

/** 403 unless a key with these limits (null: none) is within what `creator` has. */
function assertWithinCreator(creator: Principal, limits: KeyLimits): void {
  const { scopes, capMicros } = limits;
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
  const creatorBudget = creator.monthlyBudgetMicros ?? null;
  const budget = limits.budgetMicros;
  if (creatorBudget !== null && (budget === null || budget > creatorBudget)) {
    throw ApiError.forbidden(
      "monthly_budget_exceeds_creator",
      `A key with a monthly budget of ${microsToUsd(creatorBudget)} USD cannot give ${budget === null ? "no budget" : `a budget of ${microsToUsd(budget)} USD`}`,
      { monthly_budget_usd: microsToUsd(creatorBudget) },
    );
  }
  const creatorModels = creator.allowedModels?.length ? creator.allowedModels : null;
  const models = limits.allowedModels?.length ? limits.allowedModels : null;
  if (creatorModels !== null) {
    const outside = models === null ? null : models.filter((m) => !creatorModels.includes(m));
    if (outside === null || outside.length > 0) {
      throw ApiError.forbidden(
        "allowed_models_exceed_creator",
        outside === null ? "A key limited to some models cannot give every model" : `A key cannot give models it may not use: ${outside.join(", ")}`,
        { allowed_models: creatorModels, ...(outside ? { exceeding_models: outside } : {}) },
      );
    }
  }
}

/** The limits a create or an update asks for. Omitted: the base's (the creator's, or the key's as it is); null: no limit. */
interface KeyLimitFields {
  /** At least one. */
  scopes?: readonly string[];
  /** null: no daily cap. */
  dailySpendCapMicros?: bigint | null;
  /** null: no monthly budget. */
  monthlyBudgetMicros?: bigint | null;
  /** null: every model. Model ids or aliases of the catalog (stored canonical). */
  allowedModels?: readonly string[] | null;
}

/** `fields` checked (400 on an unknown scope or `unknown_model`), scopes in order and models canonical; omitted stays omitted. */
function normalizeLimitFields(catalog: Pick<Catalog, "byModel">, fields: KeyLimitFields) {
  const { dailySpendCapMicros, monthlyBudgetMicros, allowedModels } = fields;
  return {
    scopes: fields.scopes === undefined ? undefined : normalizeScopes(fields.scopes),
    dailySpendCapMicros,
    monthlyBudgetMicros,
    allowedModels: allowedModels === undefined || allowedModels === null ? allowedModels : canonicalModels(catalog, allowedModels),
  };
}

/** The limits a key gets: each field given, else `base`'s. */
function limitsOver(base: KeyLimits, fields: ReturnType<typeof normalizeLimitFields>): KeyLimits {
  return {
    scopes: fields.scopes ?? base.scopes,
    capMicros: fields.dailySpendCapMicros === undefined ? base.capMicros : fields.dailySpendCapMicros,
    budgetMicros: fields.monthlyBudgetMicros === undefined ? base.budgetMicros : fields.monthlyBudgetMicros,
    allowedModels: fields.allowedModels === undefined ? base.allowedModels : fields.allowedModels,
  };
}

export interface KeyRequest extends KeyLimitFields {
  name?: string | null;
}

/**
 * `POST /v1/api-keys`: a key of the creator's workspace, at most as powerful as the creator
 * (omitted limits are the creator's), written with its limits in one statement: it never
 * works with looser ones.
 */
export async function issueApiKeyAs(services: Services & Pick<Runtime, "catalog">, creator: Principal, request: KeyRequest): Promise<{ key: string; record: ApiKeyRecord }> {
  assertCanManageKeys(creator);
  const creatorLimits: KeyLimits = {
    scopes: creator.scopes,
    capMicros: creator.dailySpendCapMicros,
    budgetMicros: creator.monthlyBudgetMicros ?? null,
    allowedModels: creator.allowedModels?.length ? creator.allowedModels : null,
  };
  const limits = limitsOver(creatorLimits, normalizeLimitFields(services.catalog, request));
  assertWithinCreator(creator, limits);
  return issueApiKey(
    services,
    {
      workspaceId: creator.workspaceId,
      name: request.name ?? null,
      scopes: [...limits.scopes],
      dailySpendCapMicros: limits.capMicros,
      monthlyBudgetMicros: limits.budgetMicros,
      allowedModels: limits.allowedModels ? [...limits.allowedModels] : null,
    },
    { maxActiveKeys: services.config.MAX_ACTIVE_KEYS_PER_WORKSPACE },
  );
}

/** A key's spend of the current UTC month, and when its budget resets. */
export interface MonthlySpend {
  spentMicros: bigint;
  resetsAt: Date;
}

/**
 * This UTC month's spend of each key (held + captured of the holds placed this month), read
 * from the counters the reservation and settlement statements keep; the month is the database's.
 */
export async function monthlySpendOf(services: Pick<Runtime, "db">, keyIds: readonly string[]): Promise<{ resetsAt: Date; byKey: Map<string, bigint> }> {
  const rows = await services.db.prisma.$queryRaw<Array<{ month: string; api_key_id: string | null; spent_micros: bigint | null }>>`
    SELECT to_char(m.month, 'YYYY-MM-DD') AS month, s.api_key_id::text AS api_key_id, s.spent_micros
      FROM (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC'))::date AS month) AS m
      LEFT JOIN api_key_monthly_spend AS s ON s.month = m.month AND s.api_key_id = ANY(${[...keyIds]}::uuid[])`;
  const month = new Date(`${rows[0]!.month}T00:00:00Z`);
  const byKey = new Map<string, bigint>();
  for (const row of rows) if (row.api_key_id) byKey.set(row.api_key_id, row.spent_micros ?? 0n);
  return { resetsAt: budgetResetsAt(month), byKey };
}

/** Each record with its spend of this month (one query). */
export async function withMonthlySpend(services: Pick<Runtime, "db">, records: ApiKeyRecord[]): Promise<Array<{ record: ApiKeyRecord; spend: MonthlySpend }>> {
  const { resetsAt, byKey } = await monthlySpendOf(services, records.map((r) => r.id));
  return records.map((record) => ({ record, spend: { spentMicros: byKey.get(record.id) ?? 0n, resetsAt } }));
}

/** The spec's ApiKey shape (no secret, ever). Without `spend`: none this month (a new key). */
export function apiKeyBody(record: ApiKeyRecord, spend: MonthlySpend = { spentMicros: 0n, resetsAt: budgetResetsAt() }) {
  return {
    id: record.id,
    prefix: record.prefix,
    name: record.name,
    scopes: record.scopes as Scope[],
    daily_spend_cap_usd: record.dailySpendCapMicros === null ? null : microsToUsd(record.dailySpendCapMicros),
    monthly_budget_usd: record.monthlyBudgetMicros === null ? null : microsToUsd(record.monthlyBudgetMicros),
    monthly_spent_usd: microsToUsd(spend.spentMicros),
    monthly_budget_resets_at: spend.resetsAt.toISOString(),
    allowed_models: record.allowedModels.length > 0 ? record.allowedModels : null,
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
 * A new key with the same name, scopes, cap, monthly budget (and this month's spend so far)
 * and allowed models; the old one keeps working until
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
  if (rotator) assertWithinCreator(rotator, limitsOf(old));
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
      monthlyBudgetMicros: old.monthlyBudgetMicros,
      allowedModels: old.allowedModels,
    });
    // The new key starts with the old one's spend of this month: rotating does not renew a budget.
    await tx.$executeRaw`
      INSERT INTO api_key_monthly_spend (api_key_id, month, spent_micros)
      SELECT ${issued.record.id}::uuid, month, spent_micros FROM api_key_monthly_spend
       WHERE api_key_id = ${keyId}::uuid AND month = (date_trunc('month', now() AT TIME ZONE 'UTC'))::date`;
    const { count } = await tx.apiKey.updateMany({
      where: { id: keyId, workspaceId, revokedAt: null, rotatedToId: null },
      data: { rotatedToId: issued.record.id, expiresAt: oldExpiresAt },
    });
    if (count === 0) throw refuse("already rotated");
    services.credentials?.forgetKey(keyId); // its cached entry does not know the new expiry
    return { ...issued, oldExpiresAt };
  });
}

export interface KeyPatch extends KeyLimitFields {
  /** Omitted: unchanged; null: no name. */
  name?: string | null;
}

/**
 * Canonical catalog ids of `models`, in order, without repeats; 400 `unknown_model` naming
 * each id the catalog does not know (`details.fields`, `body.allowed_models[i]`).
 */
export function canonicalModels(catalog: Pick<Catalog, "byModel">, models: readonly string[]): string[] {
  const unknown: Array<{ field: string; message: string }> = [];
  const canonical: string[] = [];
  models.forEach((model, i) => {
    const entry = catalog.byModel(model);
    if (!entry) unknown.push({ field: `body.allowed_models[${i}]`, message: `${model} is not a model of this server's catalog` });
    else if (!canonical.includes(entry.model)) canonical.push(entry.model);
  });
  if (unknown.length > 0) {
    throw ApiError.badRequest("unknown_model", `Unknown model id(s) in allowed_models: ${unknown.map((u) => u.message.split(" ")[0]).join(", ")}`, { fields: unknown });
  }
  return canonical;
}

/**
 * `PATCH /v1/api-keys/{id}` (and the admin `keys.update`, without an `editor`): changes the
 * given fields of a key of the workspace. With an `editor` (the API caller) only a key within
 * the editor's own limits may be changed, and only to limits within them (403, the codes of
 * createApiKey); OAuth tokens change no keys. A revoked key cannot be changed (409
 * `key_revoked`). Takes effect at once in this process and within CREDENTIAL_CACHE_MS in
 * others; a lower budget refuses new reservations, never a job already accepted.
 */
export async function updateApiKey(
  services: Pick<Runtime, "db" | "catalog"> & { credentials?: CredentialCache },
  workspaceId: string,
  keyId: string,
  patch: KeyPatch,
  editor?: Principal,
): Promise<{ record: ApiKeyRecord; spend: MonthlySpend }> {
  if (editor) assertCanManageKeys(editor);
  const fields = normalizeLimitFields(services.catalog, patch);
  const { scopes, allowedModels: models } = fields;
  const old = await findWorkspaceKey(services, workspaceId, keyId);
  const revoked = () => ApiError.conflict("key_revoked", "This API key is revoked and cannot be changed", { revoked_at: old.revokedAt?.toISOString() ?? null });
  if (old.revokedAt) throw revoked();
  const before = limitsOf(old);
  const after = limitsOver(before, fields);
  if (editor) {
    assertWithinCreator(editor, before); // a key more powerful than the editor is not the editor's to change
    assertWithinCreator(editor, after);
  }
  const { count } = await services.db.prisma.apiKey.updateMany({
    where: { id: keyId, workspaceId, revokedAt: null },
    data: {
      ...(patch.name !== undefined ? { name: patch.name } : {}),
      ...(scopes !== undefined ? { scopes } : {}),
      ...(patch.dailySpendCapMicros !== undefined ? { dailySpendCapMicros: patch.dailySpendCapMicros } : {}),
      ...(patch.monthlyBudgetMicros !== undefined ? { monthlyBudgetMicros: patch.monthlyBudgetMicros } : {}),
      ...(models !== undefined ? { allowedModels: models ?? [] } : {}),
    },
  });
  if (count === 0) throw revoked();
  services.credentials?.forgetKey(keyId); // other processes: within CREDENTIAL_CACHE_MS
  const record = await findWorkspaceKey(services, workspaceId, keyId);
  const [view] = await withMonthlySpend(services, [record]);
  return view!;
}
