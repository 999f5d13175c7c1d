/**
 * Money that leaves through Stripe leaves the wallet too (docs/ARCHITECTURE.md, Money).
 *
 * `charge.refunded`: Stripe's `amount_refunded` is cumulative over a charge's partial
 *   refunds, so each event debits only what is refunded beyond what the ledger already took
 *   back for that top-up (`refund_out` entries linked to it): events delivered twice, or out
 *   of order (an older, smaller total after a newer one), debit nothing more.
 * `charge.dispute.created`: the disputed amount is withdrawn (a `dispute` debit), except for
 *   inquiries (`warning_*` statuses), which withdraw nothing at Stripe.
 * `charge.dispute.closed`: `won` reinstates what was withdrawn (a positive `dispute` entry);
 *   `lost` leaves it withdrawn, or withdraws it now if the `created` event never came. A
 *   `created` arriving after its `closed` moves nothing.
 *
 * Only money a top-up credited can be taken back: the event's payment intent must be one whose
 * `payment_intent.succeeded` we credited, and the entries never take back more than that top-up
 * (refunds and disputes together). Anything else is acknowledged, recorded and logged, and
 * moves nothing. Each event is recorded in stripe_events in the same transaction as its entry
 * (idempotent per event id); the wallet row is locked before the ledger is read, so two
 * different events about the same charge are applied one after the other, never on the same
 * stale sum.
 */
import type Stripe from "stripe";
import type { TransactionClient } from "../../db/index.ts";
import { stripeMoneyOut } from "../credit.ts";
import { MICROS_PER_CENT } from "./client.ts";
import type { WebhookServices } from "./webhook.ts";

/** Stripe's largest USD charge ($999,999.99); beyond it an amount is not one Stripe sent. */
export const STRIPE_MAX_AMOUNT_CENTS = 99_999_999;

export type MoneyOutAction = "debited" | "reinstated" | "unchanged" | "duplicate" | "ignored";

interface TopUpRow {
  id: string;
  workspace_id: string;
  amount_micros: bigint;
}

/** A Stripe reference as webhooks send it: an id, or the object when expanded. */
function idOf(ref: unknown): string | null {
  if (typeof ref === "string" && ref !== "") return ref;
  if (ref && typeof ref === "object" && typeof (ref as { id?: unknown }).id === "string") return (ref as { id: string }).id;
  return null;
}

/** Whole cents Stripe could have moved, as micros; null for anything else. */
function centsToMicros(value: unknown, allowZero: boolean): bigint | null {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value > STRIPE_MAX_AMOUNT_CENTS || value < (allowZero ? 0 : 1)) return null;
  return BigInt(value) * MICROS_PER_CENT;
}

/** Records the event; false when it was already recorded (a replay or a concurrent delivery, which waited on the key). */
async function recordEvent(tx: TransactionClient, event: Stripe.Event, paymentIntentId: string | null, objectId: string): Promise<boolean> {
  const rows = await tx.$queryRaw<Array<{ id: string }>>`
    INSERT INTO stripe_events (id, type, payment_intent_id, object_id) VALUES (${event.id}, ${event.type}, ${paymentIntentId}, ${objectId})
    ON CONFLICT (id) DO NOTHING RETURNING id`;
  return rows.length > 0;
}

/** The top-up ledger entry that credited this payment intent, if we credited it. */
async function creditedTopUp(tx: TransactionClient, paymentIntentId: string): Promise<TopUpRow | null> {
  const rows = await tx.$queryRaw<TopUpRow[]>`
    SELECT le.id::text AS id, le.workspace_id::text AS workspace_id, le.amount_micros
      FROM stripe_events se JOIN ledger_entries le ON le.stripe_event_id = se.id
     WHERE se.payment_intent_id = ${paymentIntentId} AND se.type = 'payment_intent.succeeded' AND le.kind = 'topup'
     ORDER BY le.created_at LIMIT 1`;
  return rows[0] ?? null;
}

/** Locks the wallet (every balance change takes this lock), then sums what the ledger already took back from the top-up. */
async function lockAndReadReversals(tx: TransactionClient, topUp: TopUpRow): Promise<{ refunded: bigint; reversed: bigint }> {
  await tx.$queryRaw`SELECT 1 FROM wallets WHERE workspace_id = ${topUp.workspace_id}::uuid FOR UPDATE`;
  const rows = await tx.$queryRaw<Array<{ refunded: bigint; reversed: bigint }>>`
    SELECT COALESCE(-SUM(amount_micros) FILTER (WHERE kind = 'refund_out'), 0)::bigint AS refunded,
           COALESCE(-SUM(amount_micros), 0)::bigint AS reversed
      FROM ledger_entries WHERE reverses_entry_id = ${topUp.id}::uuid`;
  return rows[0] ?? { refunded: 0n, reversed: 0n };
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);

export async function handleChargeRefunded(services: WebhookServices, event: Stripe.Event): Promise<MoneyOutAction> {
  const { db, logger } = services;
  const charge = event.data.object as Partial<Stripe.Charge>;
  const chargeId = idOf(charge.id);
  const paymentIntentId = idOf(charge.payment_intent);
  const refundedTotal = centsToMicros(charge.amount_refunded, true);
  if (!chargeId || refundedTotal === null) {
    logger.warn({ eventId: event.id }, "charge.refunded without a charge id or a whole-cent amount_refunded: ignored");
    return "ignored";
  }
  const outcome = await db.prisma.$transaction(async (tx): Promise<{ action: MoneyOutAction; topUp?: TopUpRow; debit?: bigint }> => {
    if (!(await recordEvent(tx, event, paymentIntentId, chargeId))) return { action: "duplicate" };
    const topUp = paymentIntentId ? await creditedTopUp(tx, paymentIntentId) : null;
    if (!topUp) return { action: "ignored" };
    const { refunded, reversed } = await lockAndReadReversals(tx, topUp);
    // The difference from what we already took back; never more than the top-up has left.
    const debit = min(refundedTotal - refunded, topUp.amount_micros - reversed);
    if (debit <= 0n) return { action: "unchanged", topUp };
    await stripeMoneyOut(tx, {
      workspaceId: topUp.workspace_id,
      kind: "refund_out",
      amountMicros: -debit,
      stripeEventId: event.id,
      reversesEntryId: topUp.id,
      stripeObjectId: chargeId,
      description: `Refund via Stripe (${chargeId}${paymentIntentId ? `, ${paymentIntentId}` : ""})`,
    });
    return { action: "debited", topUp, debit };
  });
  const log = { eventId: event.id, chargeId, paymentIntentId };
  if (outcome.action === "ignored") logger.warn(log, "charge.refunded for a charge no top-up credited: acknowledged, nothing debited");
  else if (outcome.action === "debited") logger.warn({ ...log, workspaceId: outcome.topUp!.workspace_id, micros: String(outcome.debit) }, "Stripe refund debited from the wallet");
  else if (outcome.action === "unchanged") logger.info({ ...log, workspaceId: outcome.topUp!.workspace_id }, "charge.refunded adds nothing beyond what was already debited");
  return outcome.action;
}

export async function handleDispute(services: WebhookServices, event: Stripe.Event): Promise<MoneyOutAction> {
  const { db, logger } = services;
  const dispute = event.data.object as Partial<Stripe.Dispute>;
  const disputeId = idOf(dispute.id);
  const chargeId = idOf(dispute.charge);
  const status = typeof dispute.status === "string" ? dispute.status : "";
  const amount = centsToMicros(dispute.amount, false);
  if (!disputeId || amount === null) {
    logger.warn({ eventId: event.id }, `${event.type} without a dispute id or a whole-cent amount: ignored`);
    return "ignored";
  }
  const closed = event.type === "charge.dispute.closed";
  const outcome = await db.prisma.$transaction(async (tx): Promise<{ action: MoneyOutAction; topUp?: TopUpRow; micros?: bigint }> => {
    let paymentIntentId = idOf(dispute.payment_intent);
    if (!paymentIntentId && chargeId) {
      // Older API versions send no payment_intent on a dispute: the charge's refund events may name it.
      const known = await tx.$queryRaw<Array<{ payment_intent_id: string }>>`
        SELECT payment_intent_id FROM stripe_events WHERE object_id = ${chargeId} AND payment_intent_id IS NOT NULL LIMIT 1`;
      paymentIntentId = known[0]?.payment_intent_id ?? null;
    }
    if (!(await recordEvent(tx, event, paymentIntentId, disputeId))) return { action: "duplicate" };
    const topUp = paymentIntentId ? await creditedTopUp(tx, paymentIntentId) : null;
    if (!topUp) return { action: "ignored" };
    const { reversed } = await lockAndReadReversals(tx, topUp);
    const sums = await tx.$queryRaw<Array<{ withdrawn: bigint; reinstated: bigint }>>`
      SELECT COALESCE(-SUM(amount_micros) FILTER (WHERE amount_micros < 0), 0)::bigint AS withdrawn,
             COALESCE(SUM(amount_micros) FILTER (WHERE amount_micros > 0), 0)::bigint AS reinstated
        FROM ledger_entries WHERE kind = 'dispute' AND stripe_object_id = ${disputeId}`;
    const { withdrawn, reinstated } = sums[0]!;
    const entry = (amountMicros: bigint, what: string) =>
      stripeMoneyOut(tx, {
        workspaceId: topUp.workspace_id,
        kind: "dispute",
        amountMicros,
        stripeEventId: event.id,
        reversesEntryId: topUp.id,
        stripeObjectId: disputeId,
        description: `Dispute ${what} via Stripe (${disputeId}${chargeId ? `, ${chargeId}` : ""})`,
      });

    if (!closed) {
      if (status.startsWith("warning_")) return { action: "unchanged", topUp }; // an inquiry: Stripe withdrew nothing
      const closedAlready = await tx.$queryRaw<Array<{ id: string }>>`
        SELECT id FROM stripe_events WHERE object_id = ${disputeId} AND type = 'charge.dispute.closed' AND id <> ${event.id} LIMIT 1`;
      if (closedAlready[0] || withdrawn > 0n) return { action: "unchanged", topUp };
    } else if (status === "won") {
      // Give back exactly what this dispute took (nothing if its `created` never debited).
      if (withdrawn === 0n || reinstated > 0n) return { action: "unchanged", topUp };
      await entry(withdrawn, "won, funds reinstated");
      return { action: "reinstated", topUp, micros: withdrawn };
    } else if (status !== "lost" || withdrawn > 0n) {
      return { action: "unchanged", topUp }; // lost and already withdrawn, or an inquiry closed (warning_closed)
    }
    const debit = min(amount, topUp.amount_micros - reversed);
    if (debit <= 0n) return { action: "unchanged", topUp };
    await entry(-debit, closed ? "lost, funds withdrawn" : "opened, funds withdrawn");
    return { action: "debited", topUp, micros: debit };
  });
  const log = { eventId: event.id, type: event.type, disputeId, chargeId, status };
  if (outcome.action === "ignored") logger.warn(log, "dispute of a charge no top-up credited: acknowledged, nothing debited");
  else if (outcome.action === "debited" || outcome.action === "reinstated") {
    logger.warn({ ...log, workspaceId: outcome.topUp!.workspace_id, micros: String(outcome.micros) }, outcome.action === "debited" ? "disputed funds debited from the wallet" : "won dispute reinstated to the wallet");
  }
  return outcome.action;
}
