/**
 * Wallets and credits. The balance row and its ledger entry change in the same
 * transaction, so `sum(ledger_entries) == wallets.balance_micros` always holds.
 */
import { ApiError } from "../errors.ts";
import type { TransactionClient, Wallet } from "../db/index.ts";
import { inTransaction, type WalletDb } from "./client.ts";

/** Creates the workspace's wallet if it has none (idempotent, race-free). */
export async function ensureWallet(db: WalletDb, workspaceId: string): Promise<Wallet> {
  return inTransaction(db, async (tx) => {
    await insertWalletIfMissing(tx, workspaceId);
    return tx.wallet.findUniqueOrThrow({ where: { workspaceId } });
  });
}

export async function insertWalletIfMissing(tx: TransactionClient, workspaceId: string): Promise<void> {
  await tx.$executeRaw`INSERT INTO wallets (workspace_id) VALUES (${workspaceId}::uuid) ON CONFLICT (workspace_id) DO NOTHING`;
}

export type CreditKind = "trial" | "topup" | "adjustment";

export interface CreditInput {
  workspaceId: string;
  kind: CreditKind;
  /** Positive for trial and topup; an adjustment may be negative (a correction). */
  amountMicros: bigint;
  /** Required for topup: the Stripe event id makes the credit idempotent. */
  stripeEventId?: string | null;
  description?: string | null;
}

export interface CreditResult {
  /** false when this credit had already been applied (same Stripe event, or trial already given). */
  credited: boolean;
  entryId: string | null;
  balanceMicros: bigint;
}

export async function credit(db: WalletDb, input: CreditInput): Promise<CreditResult> {
  const { workspaceId, kind, amountMicros } = input;
  if (kind !== "adjustment" && amountMicros <= 0n) throw new RangeError(`${kind} credit must be positive`);
  if (kind === "adjustment" && amountMicros === 0n) throw new RangeError("adjustment must not be zero");
  if (kind === "topup" && !input.stripeEventId) throw new RangeError("topup credit needs its stripeEventId");

  return inTransaction(db, async (tx) => {
    await insertWalletIfMissing(tx, workspaceId);

    if (kind === "trial") {
      // The flag flips in this transaction: the second caller's UPDATE waits for the
      // first's row lock, then matches nothing.
      const flipped = await tx.$executeRaw`UPDATE workspaces SET trial_credited_at = now() WHERE id = ${workspaceId}::uuid AND trial_credited_at IS NULL`;
      if (flipped === 0) return unchanged(tx, workspaceId);
    }

    // ON CONFLICT on stripe_event_id: a replayed (or concurrently delivered) event inserts nothing.
    const inserted = await tx.$queryRaw<Array<{ id: string }>>`
      INSERT INTO ledger_entries (workspace_id, kind, amount_micros, stripe_event_id, description)
      VALUES (${workspaceId}::uuid, ${kind}::ledger_entry_kind, ${amountMicros}, ${input.stripeEventId ?? null}, ${input.description ?? null})
      ON CONFLICT (stripe_event_id) DO NOTHING
      RETURNING id::text`;
    const entryId = inserted[0]?.id;
    if (!entryId) return unchanged(tx, workspaceId);

    // A negative adjustment may not eat into reserved funds (the CHECK would refuse it too).
    const rows = await tx.$queryRaw<Array<{ balance_micros: bigint }>>`
      UPDATE wallets SET balance_micros = balance_micros + ${amountMicros}, updated_at = now()
       WHERE workspace_id = ${workspaceId}::uuid AND balance_micros + ${amountMicros} >= reserved_micros
      RETURNING balance_micros`;
    if (!rows[0]) throw new ApiError(409, "adjustment_exceeds_available", "The adjustment would take the balance below the funds reserved by running jobs");
    return { credited: true, entryId, balanceMicros: rows[0].balance_micros };
  });
}

async function unchanged(tx: TransactionClient, workspaceId: string): Promise<CreditResult> {
  const wallet = await tx.wallet.findUniqueOrThrow({ where: { workspaceId } });
  return { credited: false, entryId: null, balanceMicros: wallet.balanceMicros };
}
