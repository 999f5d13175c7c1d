/** Wallet tag: balance and transactions (top-ups, auto-recharge and the Stripe webhook follow). */
import { getWalletSnapshot } from "@aeriox/core/wallet/snapshot";
import { walletBody } from "@aeriox/core/wallet/presenter";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const walletHandlers = defineHandlers({
  getWallet: async (ctx) => {
    const snapshot = await getWalletSnapshot(ctx.services.db, principalOf(ctx).workspaceId, ctx.query.limit ?? 20);
    return { status: 200, body: walletBody(snapshot) };
  },
});
