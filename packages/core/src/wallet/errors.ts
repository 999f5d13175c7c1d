/** The wallet's refusals, in the spec's Error shape (402 for both, per InsufficientFunds). */
import { ApiError } from "../errors.ts";
import { microsToUsd } from "../money.ts";
import { budgetResetsAt } from "./budget-month.ts";

// Micros go out as JSON numbers: exact up to 2^53 micros (~9 billion USD).
const n = (micros: bigint): number => Number(micros);

export function insufficientFunds(neededMicros: bigint, availableMicros: bigint): ApiError {
  return new ApiError(402, "insufficient_funds", "Wallet balance is below the estimated cost", {
    needed_usd: microsToUsd(neededMicros),
    available_usd: microsToUsd(availableMicros),
    needed_micros: n(neededMicros),
    available_micros: n(availableMicros),
  });
}

export function spendCapExceeded(capMicros: bigint, spentMicros: bigint, neededMicros: bigint): ApiError {
  const remaining = capMicros > spentMicros ? capMicros - spentMicros : 0n;
  return new ApiError(402, "spend_cap_exceeded", "This key's daily spend cap would be exceeded", {
    daily_spend_cap_usd: microsToUsd(capMicros),
    spent_24h_usd: microsToUsd(spentMicros),
    needed_usd: microsToUsd(neededMicros),
    remaining_usd: microsToUsd(remaining),
    daily_spend_cap_micros: n(capMicros),
    spent_24h_micros: n(spentMicros),
    needed_micros: n(neededMicros),
    remaining_micros: n(remaining),
  });
}

/** 402 `key_budget_exceeded`: the key's spend of this UTC month plus the estimate is above its monthly budget. */
export function keyBudgetExceeded(budgetMicros: bigint, spentMicros: bigint, neededMicros: bigint, now: Date = new Date()): ApiError {
  const remaining = budgetMicros > spentMicros ? budgetMicros - spentMicros : 0n;
  return new ApiError(402, "key_budget_exceeded", "This key's monthly budget would be exceeded", {
    monthly_budget_usd: microsToUsd(budgetMicros),
    monthly_spent_usd: microsToUsd(spentMicros),
    needed_usd: microsToUsd(neededMicros),
    remaining_usd: microsToUsd(remaining),
    monthly_budget_resets_at: budgetResetsAt(now).toISOString(),
    monthly_budget_micros: n(budgetMicros),
    monthly_spent_micros: n(spentMicros),
    needed_micros: n(neededMicros),
    remaining_micros: n(remaining),
  });
}
