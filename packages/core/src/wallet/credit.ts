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

    // A negative adjustment may not eat into reserved funds (the CHECK would refuse it too). A
    // credit always applies, even when Stripe's debits left the balance below the reservations
    // (or below zero); it pays that shortfall (stripe_debt_micros) down first.
    const rows = await tx.$queryRaw<Array<{ balance_micros: bigint }>>`
      UPDATE wallets SET balance_micros = balance_micros + ${amountMicros},
             stripe_debt_micros = GREATEST(0, LEAST(stripe_debt_micros, reserved_micros - (balance_micros + ${amountMicros}))),
             updated_at = now()
       WHERE workspace_id = ${workspaceId}::uuid AND (${amountMicros}::bigint > 0 OR balance_micros + ${amountMicros} >= reserved_micros)
      RETURNING balance_micros`;
    if (!rows[0]) throw new ApiError(409, "adjustment_exceeds_available", "The adjustment would take the balance below the funds reserved by running jobs");
    return { credited: true, entryId, balanceMicros: rows[0].balance_micros };
  });
}

export interface StripeMoneyOutInput {
  workspaceId: string;
  /** refund_out: a Stripe refund of a top-up; dispute: disputed funds withdrawn (or reinstated). */
  kind: "refund_out" | "dispute";
  /** Negative: Stripe took the money back; positive: a won dispute gave it back (dispute only). */
  amountMicros: bigint;
  /** Makes the entry idempotent per event, as for top-ups. */
  stripeEventId: string;
  /** The top-up ledger entry whose money this moves: only money a top-up credited can be taken back. */
  reversesEntryId: string;
  /** The charge (`ch_…`) or dispute (`dp_…`). */
  stripeObjectId: string;
  description: string;
}

/**
 * Money that left (or came back) through Stripe, in the caller's transaction. Unlike every
 * other debit it is not refused for lack of funds: the money is already gone at Stripe, so
 * the balance follows it below the reservations or below zero. How far below the reservations
 * it went is kept in `stripe_debt_micros` (the CHECK allows exactly that much); while
 * available is negative `aeriox_reserve` refuses every reservation (402 insufficient_funds),
 * holds already placed settle as usual, and credits pay the shortfall down.
 */
export async function stripeMoneyOut(tx: TransactionClient, input: StripeMoneyOutInput): Promise<CreditResult> {
  const { workspaceId, amountMicros } = input;
  if (amountMicros === 0n) throw new RangeError("a Stripe money-out entry must not be zero");
  if (input.kind === "refund_out" && amountMicros > 0n) throw new RangeError("a refund takes money out: it must be negative");
  const inserted = await tx.$queryRaw<Array<{ id: string }>>`
    INSERT INTO ledger_entries (workspace_id, kind, amount_micros, stripe_event_id, description, reverses_entry_id, stripe_object_id)
    VALUES (${workspaceId}::uuid, ${input.kind}::ledger_entry_kind, ${amountMicros}, ${input.stripeEventId}, ${input.description},
            ${input.reversesEntryId}::uuid, ${input.stripeObjectId})
    ON CONFLICT (stripe_event_id) DO NOTHING
    RETURNING id::text`;
  const entryId = inserted[0]?.id;
  if (!entryId) return unchanged(tx, workspaceId);
  // SET reads the row as it was: the debt grows to the new shortfall on a debit, and a
  // reinstatement lowers it to what remains (never below zero).
  const rows = await tx.$queryRaw<Array<{ balance_micros: bigint }>>`
    UPDATE wallets SET balance_micros = balance_micros + ${amountMicros},
           stripe_debt_micros = CASE WHEN ${amountMicros}::bigint < 0
             THEN GREATEST(stripe_debt_micros, reserved_micros - (balance_micros + ${amountMicros}))
             ELSE GREATEST(0, LEAST(stripe_debt_micros, reserved_micros - (balance_micros + ${amountMicros}))) END,
           updated_at = now()
     WHERE workspace_id = ${workspaceId}::uuid
    RETURNING balance_micros`;
  if (!rows[0]) throw new Error(`wallet of workspace ${workspaceId} vanished during a Stripe money-out entry`);
  return { credited: true, entryId, balanceMicros: rows[0].balance_micros };
}

async function unchanged(tx: TransactionClient, workspaceId: string): Promise<CreditResult> {
  const wallet = await tx.wallet.findUniqueOrThrow({ where: { workspaceId } });
  return { credited: false, entryId: null, balanceMicros: wallet.balanceMicros };
}
