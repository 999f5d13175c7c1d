/** API Keys tag: who am I, and key management (admin scope, enforced from the spec). */
import { getMe } from "@aeriox/core/auth/me";
import { apiKeyBody, issueApiKey, listApiKeys, revokeApiKey, rotateApiKey } from "@aeriox/core/auth/key-management";
import { normalizeScopes } from "@aeriox/core/auth/api-keys";
import { usdToMicros } from "@aeriox/core/money";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const apiKeyHandlers = defineHandlers({
  getMe: async (ctx) => ({ status: 200, body: await getMe(ctx.services.db, principalOf(ctx)) }),

  createApiKey: async (ctx) => {
    const { workspaceId } = principalOf(ctx);
    const body = ctx.body ?? {};
    const cap = body.daily_spend_cap_usd;
    const issued = await issueApiKey(ctx.services, {
      workspaceId,
      name: body.name ?? null,
      scopes: normalizeScopes(body.scopes),
      dailySpendCapMicros: cap === undefined || cap === null ? null : usdToMicros(cap),
    });
    const view = apiKeyBody(issued.record);
    return {
      status: 201,
      body: { key: issued.key, key_id: view.id, workspace_id: workspaceId, prefix: view.prefix, name: view.name, scopes: view.scopes, daily_spend_cap_usd: view.daily_spend_cap_usd, created_at: view.created_at },
    };
  },

  listApiKeys: async (ctx) => {
    const keys = await listApiKeys(ctx.services, principalOf(ctx).workspaceId);
    return { status: 200, body: { data: keys.map(apiKeyBody) } };
  },

  revokeApiKey: async (ctx) => {
    const record = await revokeApiKey(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: apiKeyBody(record) };
  },

  rotateApiKey: async (ctx) => {
    const rotated = await rotateApiKey(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: { new_key: rotated.key, new_key_id: rotated.record.id, old_expires_at: rotated.oldExpiresAt.toISOString() } };
  },
});
