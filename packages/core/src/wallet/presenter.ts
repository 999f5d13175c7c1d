/** Wallet snapshots → the spec's `GET /v1/wallet` body (USD derived from micros, never stored). */
import { microsToUsd } from "../money.ts";
import type { WalletSnapshot } from "./snapshot.ts";
import type { AutoRechargeStatus } from "./auto-recharge.ts";

/**
 * The spec's transaction `kind` enum is closed (trial, topup, adjustment, capture, refund):
 * money Stripe took back (`refund_out`, `dispute`) is shown as the signed `adjustment` it is,
 * its description naming the refund or dispute. A new enum value would break clients that
 * switch on `kind`.
 */
function publicKind(kind: WalletSnapshot["entries"][number]["kind"]): "trial" | "topup" | "adjustment" | "capture" | "refund" {
  return kind === "refund_out" || kind === "dispute" ? "adjustment" : kind;
}

export function walletBody(snapshot: WalletSnapshot, autoRecharge?: AutoRechargeStatus) {
  return {
    balance: {
      currency: "USD" as const,
      available_usd: microsToUsd(snapshot.availableMicros),
      reserved_usd: microsToUsd(snapshot.reservedMicros),
      total_usd: microsToUsd(snapshot.totalMicros),
      available_micros: Number(snapshot.availableMicros),
      reserved_micros: Number(snapshot.reservedMicros),
      total_micros: Number(snapshot.totalMicros),
    },
    recent_transactions: snapshot.entries.map((entry) => ({
      id: entry.id,
      kind: publicKind(entry.kind),
      amount_usd: microsToUsd(entry.amountMicros),
      amount_micros: Number(entry.amountMicros),
      job_id: entry.jobId,
      description: entry.description,
      created_at: entry.createdAt.toISOString(),
    })),
    // Spread: an object type (not the interface) matches the spec type's open `additionalProperties`.
    ...(autoRecharge ? { auto_recharge: { ...autoRecharge } } : {}),
  };
}
