/** API Keys tag: who am I, and key management. */
import { getMe } from "@aeriox/core/auth/me";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const apiKeyHandlers = defineHandlers({
  getMe: async (ctx) => ({ status: 200, body: await getMe(ctx.services.db, principalOf(ctx)) }),
});
