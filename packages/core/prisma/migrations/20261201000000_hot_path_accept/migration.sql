-- Hot path (docs/ARCHITECTURE.md, Money, "Hot path"): a job is accepted in ONE statement,
-- and the in-flight cap reads a counter kept with the holds instead of counting jobs.

-- AlterTable
ALTER TABLE "wallets" ADD COLUMN "held_count" INTEGER NOT NULL DEFAULT 0;

-- Backfill: one per hold still held (every queued or running job has exactly one).
UPDATE "wallets" AS w
   SET "held_count" = h.n
  FROM (SELECT "workspace_id", COUNT(*)::integer AS n FROM "holds" WHERE "status" = 'held' GROUP BY "workspace_id") AS h
 WHERE w."workspace_id" = h."workspace_id";

-- Hand-written (Prisma cannot express CHECK constraints): a settlement that decremented
-- twice would drive the counter below zero; the database refuses it.
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_held_count_nonnegative" CHECK ("held_count" >= 0);

-- Reserves `p_amount` for job `p_job_id` in one call, every check atomic under the wallet's
-- row lock (taken first, held to commit): the job's existing hold (idempotent), the
-- in-flight cap (`p_max_held`, null = none), the key's trailing-24 h spend cap (`p_spend_cap`,
-- null = none; captured + held, as keySpend24h computes it), then the available balance.
-- A refusal changes nothing and says which check refused:
--   outcome: reserved | existing | hold_conflict | concurrency_limit | spend_cap_exceeded | insufficient_funds
-- held_micros: the hold (reserved, existing); available_micros: balance - reserved (after a
-- reservation); held_count: holds held after the call; spent_micros: the key's 24 h spend
-- (spend_cap_exceeded).
CREATE FUNCTION "aeriox_reserve"(
    p_workspace_id UUID, p_job_id UUID, p_api_key_id UUID, p_amount BIGINT, p_spend_cap BIGINT, p_max_held INTEGER,
    OUT outcome TEXT, OUT held_micros BIGINT, OUT available_micros BIGINT, OUT held_count INTEGER, OUT spent_micros BIGINT
) LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    w RECORD;
    h RECORD;
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

    IF available_micros < p_amount THEN
        outcome := 'insufficient_funds';
        RETURN;
    END IF;

    UPDATE wallets SET reserved_micros = reserved_micros + p_amount, held_count = wallets.held_count + 1, updated_at = now()
     WHERE workspace_id = p_workspace_id
    RETURNING balance_micros - reserved_micros, wallets.held_count INTO available_micros, held_count;
    INSERT INTO holds (job_id, workspace_id, api_key_id, amount_micros) VALUES (p_job_id, p_workspace_id, p_api_key_id, p_amount);
    held_micros := p_amount;
    outcome := 'reserved';
END
$fn$;

-- Accepting a job: the reservation above and, when it succeeds, the job row, in one
-- statement (one round trip, one commit). Returns the reservation's outcome and the
-- job's created_at (null when refused: nothing was written).
CREATE FUNCTION "aeriox_accept_job"(
    p_job_id UUID, p_workspace_id UUID, p_api_key_id UUID, p_type "job_type", p_model TEXT, p_operation_id TEXT,
    p_provider TEXT, p_input JSONB, p_estimated_cost BIGINT, p_prism_id TEXT, p_character_id UUID,
    p_deadline_at TIMESTAMPTZ, p_spend_cap BIGINT, p_max_held INTEGER,
    OUT outcome TEXT, OUT held_micros BIGINT, OUT available_micros BIGINT, OUT held_count INTEGER, OUT spent_micros BIGINT,
    OUT created_at TIMESTAMPTZ
) LANGUAGE plpgsql VOLATILE AS $fn$
BEGIN
    SELECT r.outcome, r.held_micros, r.available_micros, r.held_count, r.spent_micros
      INTO outcome, held_micros, available_micros, held_count, spent_micros
      FROM aeriox_reserve(p_workspace_id, p_job_id, p_api_key_id, p_estimated_cost, p_spend_cap, p_max_held) AS r;
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
