-- Budgets per key (docs/ARCHITECTURE.md, Money, "Hot path"): a monthly budget per API key,
-- checked inside the one accept statement like the daily spend cap, and an allow-list of
-- models (checked at the edge, before anything is reserved; stored here).

-- AlterTable: null = no monthly budget; an empty list = every model (the API says null).
ALTER TABLE "api_keys" ADD COLUMN "monthly_budget_micros" BIGINT;
ALTER TABLE "api_keys" ADD COLUMN "allowed_models" TEXT[] DEFAULT ARRAY[]::TEXT[];
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_monthly_budget_nonnegative" CHECK ("monthly_budget_micros" >= 0);

-- The UTC calendar month whose budget a hold counts against (the month it was placed in);
-- null for holds without a key. Settling a hold gives back to that month only.
ALTER TABLE "holds" ADD COLUMN "budget_month" DATE;

-- A key's spend per UTC calendar month: held plus captured amounts of the holds placed that
-- month. Kept in the statements that move holds (accept +amount; capture −(hold − actual);
-- release −hold), so the budget check reads one row instead of summing a month of holds.
-- Kept for every key, budget or not, so a budget set mid-month counts the month's spend.
-- No foreign key, like holds.api_key_id: the row is written on the hot path.
CREATE TABLE "api_key_monthly_spend" (
    "api_key_id" UUID NOT NULL,
    "month" DATE NOT NULL,
    "spent_micros" BIGINT NOT NULL DEFAULT 0,

    CONSTRAINT "api_key_monthly_spend_pkey" PRIMARY KEY ("api_key_id","month")
);
ALTER TABLE "api_key_monthly_spend" ADD CONSTRAINT "api_key_monthly_spend_nonnegative" CHECK ("spent_micros" >= 0);

-- Backfill: every hold still held, and every hold placed this month, counts against its month.
UPDATE "holds"
   SET "budget_month" = (date_trunc('month', "created_at" AT TIME ZONE 'UTC'))::date
 WHERE "api_key_id" IS NOT NULL
   AND ("status" = 'held' OR "created_at" >= (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'));
INSERT INTO "api_key_monthly_spend" ("api_key_id", "month", "spent_micros")
SELECT "api_key_id", "budget_month",
       SUM(CASE "status" WHEN 'held' THEN "amount_micros" WHEN 'captured' THEN COALESCE("captured_micros", "amount_micros") ELSE 0 END)::bigint
  FROM "holds" WHERE "budget_month" IS NOT NULL
 GROUP BY "api_key_id", "budget_month";

-- The reservation and the accept statement gain the monthly budget (`p_monthly_budget`, null =
-- none). The previous signatures are dropped, not kept beside: a process of the previous
-- version would reserve without counting the month's spend (stop it before migrating, as for
-- 20261201000000_hot_path_accept).
DROP FUNCTION "aeriox_accept_job"(UUID, UUID, UUID, "job_type", TEXT, TEXT, TEXT, JSONB, BIGINT, TEXT, UUID, TIMESTAMPTZ, BIGINT, INTEGER);
DROP FUNCTION "aeriox_reserve"(UUID, UUID, UUID, BIGINT, BIGINT, INTEGER);

-- As before (20261201000000_hot_path_accept), every check under the wallet's row lock, in
-- order: existing hold, in-flight cap, daily spend cap, then the key's monthly budget
-- (`key_budget_exceeded`: this UTC month's spend of the key + amount > budget; spent_micros
-- is the month's spend), then the available balance. A reservation with a key adds the
-- amount to the key's spend of this month and records the month on the hold. Lock order:
-- wallet, then the key's month row (settlements: hold, wallet, then the month row).
--   outcome: reserved | existing | hold_conflict | concurrency_limit | spend_cap_exceeded
--          | key_budget_exceeded | insufficient_funds
CREATE FUNCTION "aeriox_reserve"(
    p_workspace_id UUID, p_job_id UUID, p_api_key_id UUID, p_amount BIGINT, p_spend_cap BIGINT, p_max_held INTEGER,
    p_monthly_budget BIGINT,
    OUT outcome TEXT, OUT held_micros BIGINT, OUT available_micros BIGINT, OUT held_count INTEGER, OUT spent_micros BIGINT
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    w RECORD;
    h RECORD;
    v_month DATE := (date_trunc('month', now() AT TIME ZONE 'UTC'))::date;
    v_month_spent BIGINT;
BEGIN
    IF p_amount < 0 THEN
        RAISE EXCEPTION 'reservation must not be negative' USING ERRCODE = 'check_violation';
    END IF;
    SELECT balance_micros, reserved_micros, wallets.held_count AS n INTO w FROM wallets WHERE workspace_id = p_workspace_id FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO wallets (workspace_id) VALUES (p_workspace_id) ON CONFLICT (workspace_id) DO NOTHING;
        SELECT balance_micros, reserved_micros, wallets.held_count AS n INTO w FROM wallets WHERE workspace_id = p_workspace_id FOR UPDATE;
    END IF;
    available_micros := w.balance_micros - w.reserved_micros;
    held_count := w.n;

    -- Read after the lock: each statement of a VOLATILE function sees what committed before it began.
    SELECT holds.workspace_id, holds.amount_micros INTO h FROM holds WHERE job_id = p_job_id;
    IF FOUND THEN
        held_micros := h.amount_micros;
        outcome := CASE WHEN h.workspace_id = p_workspace_id THEN 'existing' ELSE 'hold_conflict' END;
        RETURN;
    END IF;

    IF p_max_held IS NOT NULL AND w.n >= p_max_held THEN
        outcome := 'concurrency_limit';
        RETURN;
    END IF;

    IF p_api_key_id IS NOT NULL AND p_spend_cap IS NOT NULL THEN
        spent_micros := (
            COALESCE((SELECT -SUM(amount_micros) FROM ledger_entries
                       WHERE api_key_id = p_api_key_id AND kind = 'capture' AND created_at > now() - interval '24 hours'), 0)
          + COALESCE((SELECT SUM(amount_micros) FROM holds WHERE api_key_id = p_api_key_id AND status = 'held'), 0)
        )::bigint;
        IF spent_micros + p_amount > p_spend_cap THEN
            outcome := 'spend_cap_exceeded';
            RETURN;
        END IF;
    END IF;

    IF p_api_key_id IS NOT NULL AND p_monthly_budget IS NOT NULL THEN
        -- Every writer of this key's month row (a reservation, or a settlement after its wallet
        -- update) holds the wallet lock taken above: what is read here stays true to commit.
        v_month_spent := COALESCE((SELECT s.spent_micros FROM api_key_monthly_spend AS s
                                    WHERE s.api_key_id = p_api_key_id AND s.month = v_month), 0);
        IF v_month_spent + p_amount > p_monthly_budget THEN
            spent_micros := v_month_spent;
            outcome := 'key_budget_exceeded';
            RETURN;
        END IF;
    END IF;

    IF available_micros < p_amount THEN
        outcome := 'insufficient_funds';
        RETURN;
    END IF;

    UPDATE wallets SET reserved_micros = reserved_micros + p_amount, held_count = wallets.held_count + 1, updated_at = now()
     WHERE workspace_id = p_workspace_id
    RETURNING balance_micros - reserved_micros, wallets.held_count INTO available_micros, held_count;
    INSERT INTO holds (job_id, workspace_id, api_key_id, amount_micros, budget_month)
    VALUES (p_job_id, p_workspace_id, p_api_key_id, p_amount, CASE WHEN p_api_key_id IS NULL THEN NULL ELSE v_month END);
    IF p_api_key_id IS NOT NULL THEN
        INSERT INTO api_key_monthly_spend AS s (api_key_id, month, spent_micros) VALUES (p_api_key_id, v_month, p_amount)
        ON CONFLICT (api_key_id, month) DO UPDATE SET spent_micros = s.spent_micros + EXCLUDED.spent_micros;
    END IF;
    held_micros := p_amount;
    outcome := 'reserved';
END
$fn$;

CREATE FUNCTION "aeriox_accept_job"(
    p_job_id UUID, p_workspace_id UUID, p_api_key_id UUID, p_type "job_type", p_model TEXT, p_operation_id TEXT,
    p_provider TEXT, p_input JSONB, p_estimated_cost BIGINT, p_prism_id TEXT, p_character_id UUID,
    p_deadline_at TIMESTAMPTZ, p_spend_cap BIGINT, p_max_held INTEGER, p_monthly_budget BIGINT,
    OUT outcome TEXT, OUT held_micros BIGINT, OUT available_micros BIGINT, OUT held_count INTEGER, OUT spent_micros BIGINT,
    OUT created_at TIMESTAMPTZ
) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    SELECT r.outcome, r.held_micros, r.available_micros, r.held_count, r.spent_micros
      INTO outcome, held_micros, available_micros, held_count, spent_micros
      FROM aeriox_reserve(p_workspace_id, p_job_id, p_api_key_id, p_estimated_cost, p_spend_cap, p_max_held, p_monthly_budget) AS r;
    IF outcome <> 'reserved' THEN
        RETURN;
    END IF;
    INSERT INTO jobs (id, workspace_id, api_key_id, type, status, model, operation_id, provider, input,
                      estimated_cost_micros, prism_id, character_id, deadline_at)
    VALUES (p_job_id, p_workspace_id, p_api_key_id, p_type, 'queued', p_model, p_operation_id, p_provider, p_input,
            p_estimated_cost, p_prism_id, p_character_id, p_deadline_at)
    RETURNING jobs.created_at INTO created_at;
END
$fn$;
