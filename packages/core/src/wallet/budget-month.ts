/**
 * A key's monthly budget runs over UTC calendar months (ARCHITECTURE.md, Money): the month of
 * a hold is the one it was placed in (`holds.budget_month`, set by `aeriox_reserve` from the
 * database clock), and the budget resets at 00:00 UTC on the first of the next month.
 */

/** 00:00 UTC on the first day of `now`'s UTC month. */
export function budgetMonthStart(now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** When the budget of `now`'s month resets: 00:00 UTC on the first day of the next month. */
export function budgetResetsAt(now: Date = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
}
