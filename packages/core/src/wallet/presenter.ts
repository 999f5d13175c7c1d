/** Wallet snapshots → the spec's `GET /v1/wallet` body (USD derived from micros, never stored). */
import { microsToUsd } from "../money.ts";
import type { WalletSnapshot } from "./snapshot.ts";

export function walletBody(snapshot: WalletSnapshot) {
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
      kind: entry.kind,
      amount_usd: microsToUsd(entry.amountMicros),
      amount_micros: Number(entry.amountMicros),
      job_id: entry.jobId,
      description: entry.description,
      created_at: entry.createdAt.toISOString(),
    })),
  };
}
