/** Wallet tag: balance and transactions, usage, Stripe top-ups and their webhook, auto-recharge, legacy credits. */
import { getWalletSnapshot, walletBody, createTopUp, handleStripeEvent, verifyStripeEvent, configureAutoRecharge, getAutoRecharge, getCredits, getUsage } from "@aeriox/core/wallet";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const walletHandlers = defineHandlers({
  getWallet: async (ctx) => {
    const workspaceId = principalOf(ctx).workspaceId;
    const [snapshot, autoRecharge] = await Promise.all([getWalletSnapshot(ctx.services.db, workspaceId, ctx.query.limit ?? 20), getAutoRecharge(ctx.services, workspaceId)]);
    return { status: 200, body: walletBody(snapshot, autoRecharge) };
  },

  getUsage: async (ctx) => {
    return { status: 200, body: await getUsage(ctx.services, principalOf(ctx).workspaceId, ctx.query) };
  },

  topUpWallet: async (ctx) => {
    const idem = ctx.headers["idempotency-key"];
    const body = await createTopUp(ctx.services, {
      workspaceId: principalOf(ctx).workspaceId,
      amountUsd: ctx.body.amount_usd,
      paymentMethodId: ctx.body.payment_method_id,
      idempotencyKey: Array.isArray(idem) ? idem[0] : idem,
    });
    return { status: 200, body };
  },

  configureAutoRecharge: async (ctx) => {
    const body = await configureAutoRecharge(ctx.services, principalOf(ctx).workspaceId, ctx.body);
    return { status: 200, body };
  },

  handleStripeWebhook: async (ctx) => {
    const event = await verifyStripeEvent(ctx.services.config, ctx.rawBody, ctx.headers["stripe-signature"]);
    const outcome = await handleStripeEvent(ctx.services, event);
    ctx.log.info({ eventId: outcome.eventId, type: outcome.type, action: outcome.action }, "stripe webhook");
    return { status: 200, body: { received: true as const } };
  },

  getCredits: async (ctx) => ({ status: 200, body: await getCredits(ctx.services, principalOf(ctx)) }),
});
