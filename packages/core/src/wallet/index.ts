/**
 * The prepaid USD wallet as a ledger (see docs/ARCHITECTURE.md, "Money"). Domain functions only:
 * no HTTP here. Each is one transaction (or joins the caller's) and idempotent per job
 * or per Stripe event.
 */
export { inTransaction, type WalletDb } from "./client.ts";
export { ensureWallet, credit, type CreditInput, type CreditKind, type CreditResult } from "./credit.ts";
export { reserve, capture, release, type ReserveInput, type HoldResult, type CaptureInput, type Settlement } from "./holds.ts";
export { getWalletSnapshot, sumEntries, auditWallet, type WalletSnapshot, type WalletAudit } from "./snapshot.ts";
export { insufficientFunds, keyBudgetExceeded, spendCapExceeded } from "./errors.ts";
// The rest of the public surface (`@aeriox/core/wallet`): what the server's handlers and the tests use.
export * from "./snapshot.ts";
export * from "./holds.ts";
export * from "./credit.ts";
export * from "./credits.ts";
export * from "./estimate.ts";
export * from "./presenter.ts";
export * from "./usage.ts";
export * from "./auto-recharge.ts";
export * from "./stripe/index.ts";
