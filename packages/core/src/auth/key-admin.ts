/** Admin commands for API keys (`aeriox keys …`). */
import { z } from "zod";
import { SCOPES } from "./principal.ts";
import { usdToMicros } from "../money.ts";
import { apiKeyBody, canonicalModels, issueApiKey, listApiKeys, revokeApiKey, rotateApiKey, updateApiKey, withMonthlySpend } from "./key-management.ts";
import { loadCatalog } from "../pricing/catalog.ts";
import { ApiError } from "../errors.ts";
import { findOrCreateWorkspace, findWorkspace } from "./workspaces.ts";
import { defineAdminCommand } from "../admin/registry.ts";

const usd = z.number().finite().nonnegative().max(1_000_000);
/** Model ids or aliases of the catalog (stored canonical); null: every model. */
const allowedModels = z.array(z.string().min(1).max(200)).min(1).max(100).nullable().optional();

export const keyAdminCommands = {
  "keys.create": defineAdminCommand({
    args: z.object({
      workspace: z.string().min(1).max(120),
      name: z.string().min(1).max(120).optional(),
      scopes: z.array(z.enum(SCOPES)).min(1).optional(),
      daily_spend_cap_usd: usd.nullable().optional(),
      monthly_budget_usd: usd.nullable().optional(),
      allowed_models: allowedModels,
    }),
    /** The operator's create: bound by no key; an omitted limit is none. */
    async run(services, args) {
      const allowed = args.allowed_models ? canonicalModels(loadCatalog({ file: services.config.PRICING_FILE }), args.allowed_models) : null;
      const workspace = await findOrCreateWorkspace(services.db, args.workspace);
      const issued = await issueApiKey(services, {
        workspaceId: workspace.id,
        name: args.name ?? null,
        scopes: args.scopes,
        dailySpendCapMicros: args.daily_spend_cap_usd == null ? null : usdToMicros(args.daily_spend_cap_usd),
        monthlyBudgetMicros: args.monthly_budget_usd == null ? null : usdToMicros(args.monthly_budget_usd),
        allowedModels: allowed,
      });
      const view = apiKeyBody(issued.record);
      return {
        key: issued.key,
        key_id: issued.record.id,
        workspace_id: workspace.id,
        prefix: issued.record.prefix,
        scopes: issued.record.scopes,
        daily_spend_cap_usd: view.daily_spend_cap_usd,
        monthly_budget_usd: view.monthly_budget_usd,
        allowed_models: view.allowed_models,
      };
    },
  }),
  "keys.list": defineAdminCommand({
    args: z.object({ workspace: z.string().min(1).max(120) }),
    async run(services, args) {
      const workspace = await findWorkspace(services.db, args.workspace);
      const keys = await withMonthlySpend(services, await listApiKeys(services, workspace.id));
      return { workspace_id: workspace.id, data: keys.map(({ record, spend }) => apiKeyBody(record, spend)) };
    },
  }),
  "keys.revoke": defineAdminCommand({
    args: z.object({ key_id: z.uuid() }),
    async run(services, args) {
      const [view] = await withMonthlySpend(services, [await revokeApiKey(services, await workspaceOfKey(services, args.key_id), args.key_id)]);
      return apiKeyBody(view!.record, view!.spend);
    },
  }),
  /** The operator's edit: bound by no key's limits (the API's PATCH is). Omitted fields stay; null clears. */
  "keys.update": defineAdminCommand({
    args: z.object({
      key_id: z.uuid(),
      name: z.string().min(1).max(120).nullable().optional(),
      scopes: z.array(z.enum(SCOPES)).min(1).optional(),
      daily_spend_cap_usd: usd.nullable().optional(),
      monthly_budget_usd: usd.nullable().optional(),
      allowed_models: allowedModels,
    }),
    async run(services, args) {
      const micros = (v: number | null | undefined) => (v === undefined ? undefined : v === null ? null : usdToMicros(v));
      const catalog = loadCatalog({ file: services.config.PRICING_FILE });
      const { record, spend } = await updateApiKey({ ...services, catalog }, await workspaceOfKey(services, args.key_id), args.key_id, {
        name: args.name,
        scopes: args.scopes,
        dailySpendCapMicros: micros(args.daily_spend_cap_usd),
        monthlyBudgetMicros: micros(args.monthly_budget_usd),
        allowedModels: args.allowed_models,
      });
      return apiKeyBody(record, spend);
    },
  }),
  "keys.rotate": defineAdminCommand({
    args: z.object({ key_id: z.uuid() }),
    async run(services, args) {
      const rotated = await rotateApiKey(services, await workspaceOfKey(services, args.key_id), args.key_id);
      return { new_key: rotated.key, new_key_id: rotated.record.id, old_expires_at: rotated.oldExpiresAt.toISOString() };
    },
  }),
};

async function workspaceOfKey(services: { db: import("../db/index.ts").Database }, keyId: string): Promise<string> {
  const key = await services.db.prisma.apiKey.findUnique({ where: { id: keyId }, select: { workspaceId: true } });
  if (!key) throw ApiError.notFound("API key");
  return key.workspaceId;
}
