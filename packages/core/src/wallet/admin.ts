/** Admin commands for wallets (`aeriox wallet show|credit`). */
import { z } from "zod";
import { defineAdminCommand } from "../admin/registry.ts";
import { findWorkspace } from "../auth/workspaces.ts";
import { microsToUsd, usdToMicros } from "../money.ts";
import { credit } from "./credit.ts";
import { getWalletSnapshot } from "./snapshot.ts";
import { walletBody } from "./presenter.ts";
import { getAutoRecharge } from "./auto-recharge.ts";

const MAX_ADJUSTMENT_USD = 100_000;

const adjustmentUsd = z
  .number()
  .finite()
  .refine((n) => n !== 0, "must not be zero")
  .refine((n) => Math.abs(n) <= MAX_ADJUSTMENT_USD, `must be at most ${MAX_ADJUSTMENT_USD} in absolute value`)
  .refine((n) => Math.abs(Math.round(n * 1e6) - n * 1e6) <= 1e-6 * Math.max(1, Math.abs(n)), "must have at most 6 decimal places");

async function show(services: { db: import("../db/index.ts").Database }, workspaceRef: string) {
  const workspace = await findWorkspace(services.db, workspaceRef);
  const [snapshot, wallet, autoRecharge] = await Promise.all([
    getWalletSnapshot(services.db, workspace.id, 20),
    services.db.prisma.wallet.findUnique({ where: { workspaceId: workspace.id }, select: { stripeCustomerId: true } }),
    getAutoRecharge(services, workspace.id),
  ]);
  return { workspace_id: workspace.id, workspace_name: workspace.name, ...walletBody(snapshot), stripe_customer_id: wallet?.stripeCustomerId ?? null, auto_recharge: autoRecharge };
}

export const walletAdminCommands = {
  "wallet.show": defineAdminCommand({
    args: z.object({ workspace: z.string().min(1).max(120) }),
    run: (services, args) => show(services, args.workspace),
  }),
  "wallet.credit": defineAdminCommand({
    args: z.object({ workspace: z.string().min(1).max(120), usd: adjustmentUsd, reason: z.string().min(1).max(500).optional() }),
    async run(services, args) {
      const workspace = await findWorkspace(services.db, args.workspace);
      const micros = usdToMicros(args.usd, "usd");
      const result = await credit(services.db, { workspaceId: workspace.id, kind: "adjustment", amountMicros: micros, description: args.reason ?? "admin adjustment" });
      services.logger.info({ workspaceId: workspace.id, amountMicros: String(micros), entryId: result.entryId }, "wallet adjusted by an administrator");
      return { entry_id: result.entryId, amount_usd: microsToUsd(micros), ...(await show(services, workspace.id)) };
    },
  }),
};
