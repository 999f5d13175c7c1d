/** API Keys tag: who am I, and key management (admin scope, enforced from the spec). */
import { getMe, apiKeyBody, issueApiKeyAs, listApiKeys, revokeApiKey, rotateApiKey, updateApiKey, withMonthlySpend } from "@aeriox/core/auth";
import { usdToMicros } from "@aeriox/core/money";
import { defineHandlers, principalOf } from "../http/handler.ts";

/**
 * Whether the caller sent `field`: request validation fills in schema defaults
 * (`scopes` defaults to all three), but an omitted `scopes` means "the creator's".
 */
function askedFor(rawBody: Buffer | undefined, field: string): boolean {
  if (!rawBody || rawBody.length === 0) return false;
  const sent = JSON.parse(rawBody.toString("utf8")) as unknown;
  return typeof sent === "object" && sent !== null && Object.hasOwn(sent, field);
}

/** A USD amount of the body as micro-dollars; omitted stays omitted, null stays null. */
const micros = (v: number | null | undefined, field: string) => (v === undefined ? undefined : v === null ? null : usdToMicros(v, field));

export const apiKeyHandlers = defineHandlers({
  getMe: async (ctx) => ({ status: 200, body: await getMe(ctx.services.db, principalOf(ctx)) }),

  createApiKey: async (ctx) => {
    const creator = principalOf(ctx);
    const { workspaceId } = creator;
    const body = ctx.body ?? {};
    const issued = await issueApiKeyAs(ctx.services, creator, {
      name: body.name ?? null,
      scopes: askedFor(ctx.rawBody, "scopes") ? body.scopes : undefined,
      dailySpendCapMicros: micros(body.daily_spend_cap_usd, "body.daily_spend_cap_usd"),
      monthlyBudgetMicros: micros(body.monthly_budget_usd, "body.monthly_budget_usd"),
      allowedModels: body.allowed_models,
    });
    const view = apiKeyBody(issued.record);
    return {
      status: 201,
      body: {
        key: issued.key,
        key_id: view.id,
        workspace_id: workspaceId,
        prefix: view.prefix,
        name: view.name,
        scopes: view.scopes,
        daily_spend_cap_usd: view.daily_spend_cap_usd,
        monthly_budget_usd: view.monthly_budget_usd,
        allowed_models: view.allowed_models,
        created_at: view.created_at,
      },
    };
  },

  listApiKeys: async (ctx) => {
    const keys = await withMonthlySpend(ctx.services, await listApiKeys(ctx.services, principalOf(ctx).workspaceId));
    return { status: 200, body: { data: keys.map(({ record, spend }) => apiKeyBody(record, spend)) } };
  },

  revokeApiKey: async (ctx) => {
    const record = await revokeApiKey(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    const [view] = await withMonthlySpend(ctx.services, [record]);
    return { status: 200, body: apiKeyBody(view!.record, view!.spend) };
  },

  updateApiKey: async (ctx) => {
    const editor = principalOf(ctx);
    const body = ctx.body;
    const { record, spend } = await updateApiKey(
      ctx.services,
      editor.workspaceId,
      ctx.params.id,
      {
        name: body.name,
        scopes: body.scopes,
        dailySpendCapMicros: micros(body.daily_spend_cap_usd, "body.daily_spend_cap_usd"),
        monthlyBudgetMicros: micros(body.monthly_budget_usd, "body.monthly_budget_usd"),
        allowedModels: body.allowed_models,
      },
      editor,
    );
    return { status: 200, body: apiKeyBody(record, spend) };
  },

  rotateApiKey: async (ctx) => {
    const rotator = principalOf(ctx);
    const rotated = await rotateApiKey(ctx.services, rotator.workspaceId, ctx.params.id, rotator);
    return { status: 200, body: { new_key: rotated.key, new_key_id: rotated.record.id, old_expires_at: rotated.oldExpiresAt.toISOString() } };
  },
});
