/**
 * The workspace's Stripe customer, created on demand. Two concurrent first top-ups
 * must not leave two customers: creation carries a Stripe idempotency key derived
 * from the workspace (Stripe answers the second call with the first's customer), and
 * the id is stored with a conditional UPDATE (first writer wins; everyone re-reads).
 */
import type Stripe from "stripe";
import type { Database } from "../../db/index.ts";
import { ensureWallet } from "../credit.ts";

export async function ensureStripeCustomer(db: Database, stripe: Stripe, workspaceId: string): Promise<string> {
  const wallet = await ensureWallet(db, workspaceId);
  if (wallet.stripeCustomerId) return wallet.stripeCustomerId;
  const workspace = await db.prisma.workspace.findUnique({ where: { id: workspaceId }, select: { name: true } });
  const customer = await stripe.customers.create(
    { metadata: { workspace_id: workspaceId }, ...(workspace?.name ? { description: `AERIOX workspace ${workspace.name}` } : {}) },
    { idempotencyKey: `aeriox-customer-${workspaceId}` },
  );
  await db.prisma.$executeRaw`UPDATE wallets SET stripe_customer_id = ${customer.id}, updated_at = now() WHERE workspace_id = ${workspaceId}::uuid AND stripe_customer_id IS NULL`;
  const stored = await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId }, select: { stripeCustomerId: true } });
  return stored.stripeCustomerId ?? customer.id;
}
