-- Money that leaves through Stripe leaves the wallet too (docs/ARCHITECTURE.md, Money), and
-- a declined auto-recharge backs off instead of being retried after every job.

-- Ledger kinds for money Stripe took back: `refund_out` (a refund of a top-up) and `dispute`
-- (negative when the funds are withdrawn, positive when a won dispute reinstates them).
-- Added in this migration's transaction and first used by later ones (PostgreSQL ≥ 12 allows that).
ALTER TYPE "ledger_entry_kind" ADD VALUE 'refund_out';
ALTER TYPE "ledger_entry_kind" ADD VALUE 'dispute';

-- A refund or dispute entry names the top-up it reverses (only money a top-up credited can be
-- taken back) and the Stripe object it came from (the charge `ch_…` or the dispute `dp_…`).
ALTER TABLE "ledger_entries" ADD COLUMN "reverses_entry_id" UUID;
ALTER TABLE "ledger_entries" ADD COLUMN "stripe_object_id" TEXT;
CREATE INDEX "ledger_entries_reverses_entry_id_idx" ON "ledger_entries"("reverses_entry_id");
CREATE INDEX "ledger_entries_stripe_object_id_idx" ON "ledger_entries"("stripe_object_id");
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_reverses_entry_id_fkey" FOREIGN KEY ("reverses_entry_id") REFERENCES "ledger_entries"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- The Stripe object an event was about (charge or dispute id): a dispute's events find each
-- other by it, whatever order they arrive in.
ALTER TABLE "stripe_events" ADD COLUMN "object_id" TEXT;
CREATE INDEX "stripe_events_payment_intent_id_idx" ON "stripe_events"("payment_intent_id");
CREATE INDEX "stripe_events_object_id_idx" ON "stripe_events"("object_id");

-- How far below its reservations Stripe's debits have taken the balance. Only a refund or
-- dispute debit raises it; a credit lowers it back to the remaining shortfall.
ALTER TABLE "wallets" ADD COLUMN "stripe_debt_micros" BIGINT NOT NULL DEFAULT 0;

-- Auto-recharge back-off: why the last recharge failed, when, how many times in a row, and
-- the earliest time the next one may start. `auto_recharge_failed_intent_id` makes a decline
-- count once although both the API answer and the webhook report it.
ALTER TABLE "wallets" ADD COLUMN "auto_recharge_failure_reason" TEXT;
ALTER TABLE "wallets" ADD COLUMN "auto_recharge_failed_at" TIMESTAMPTZ(3);
ALTER TABLE "wallets" ADD COLUMN "auto_recharge_failure_count" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "wallets" ADD COLUMN "auto_recharge_failed_intent_id" TEXT;
ALTER TABLE "wallets" ADD COLUMN "auto_recharge_next_attempt_at" TIMESTAMPTZ(3);

-- Hand-written (Prisma cannot express CHECK constraints). The balance may now fall below the
-- reservations (even below zero), but only by what Stripe took: the old CHECK
-- (balance >= reserved) becomes balance + stripe_debt >= reserved, so any other write that
-- would overdraw the wallet is still refused by the database.
ALTER TABLE "wallets" DROP CONSTRAINT "wallets_reserved_within_balance";
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_reserved_within_balance" CHECK ("balance_micros" + "stripe_debt_micros" >= "reserved_micros");
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_stripe_debt_nonnegative" CHECK ("stripe_debt_micros" >= 0);
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_auto_recharge_failure_count_nonnegative" CHECK ("auto_recharge_failure_count" >= 0);
