-- Worker hot path (docs/ARCHITECTURE.md, Jobs, "Worker hot path"): a job's completion is ONE call
-- (packages/core/src/jobs/settle.ts, completeJobWithOutputs) instead of an asset insert, an
-- output-ids update and a Prisma transaction of seven statements. In one transaction, and only if
-- the job is `running` (compare-and-set, as every transition):
--   the job → completed (progress 100, duration, output asset ids, charged cost);
--   its hold captured by aeriox_capture_hold, as every capture is (wallet/holds.ts), the charge
--   being the reported cost capped at the job's estimate (null: the hold);
--   the output assets' rows (`p_assets`: a JSON array of {id, storage_key, content_type,
--   size_bytes, width, height, duration_s}, bytes already in the store);
--   the `job.completed` webhook deliveries of every target (as webhooks/events.ts recordJobEvent).
-- Lock order as everywhere: job → hold → wallet → the key's month row.
-- outcome: completed | not_running (someone else settled it: nothing changed) | fallback (nothing
-- changed: a character_train job, whose side effects live in jobs/side-effects.ts, or a hold
-- that is missing, not held, or smaller than the charge; the caller takes the general path,
-- which raises the same errors as ever).
-- Backward compatible: new functions only; processes of the previous version never call them (their
-- inline capture is the same statement as aeriox_capture_hold).
-- A job's hold captured: the one definition, used by wallet/holds.ts `capture` and by
-- aeriox_complete_job. Hold held → captured at p_actual (null: the whole hold; never above it);
-- ledger `capture` of -captured; wallet balance -= captured, reserved -= hold, held_count -= 1;
-- the key's month row -= hold − captured. No row when the hold is not held or p_actual exceeds it.
CREATE FUNCTION "aeriox_capture_hold"(p_job_id UUID, p_actual BIGINT)
RETURNS TABLE (amount_micros BIGINT, captured_micros BIGINT) LANGUAGE sql VOLATILE AS $fn$
  WITH settled AS (
    UPDATE "holds" SET "status" = 'captured', "captured_micros" = COALESCE(p_actual, "amount_micros"), "settled_at" = now()
     WHERE "job_id" = p_job_id AND "status" = 'held' AND COALESCE(p_actual, "amount_micros") <= "amount_micros"
    RETURNING "workspace_id", "api_key_id", "amount_micros", "captured_micros", "budget_month"
  ), entry AS (
    INSERT INTO "ledger_entries" ("workspace_id", "kind", "amount_micros", "job_id", "api_key_id")
    SELECT "workspace_id", 'capture'::ledger_entry_kind, -"captured_micros", p_job_id, "api_key_id" FROM settled
  ), wallet AS (
    UPDATE "wallets" AS w
       SET "balance_micros" = w."balance_micros" - s."captured_micros", "reserved_micros" = w."reserved_micros" - s."amount_micros",
           "held_count" = w."held_count" - 1, "updated_at" = now()
      FROM settled AS s WHERE w."workspace_id" = s."workspace_id"
    RETURNING s."api_key_id", s."budget_month", s."amount_micros" - s."captured_micros" AS unused
  ), budget AS (
    UPDATE "api_key_monthly_spend" AS m SET "spent_micros" = m."spent_micros" - wallet.unused
      FROM wallet WHERE m."api_key_id" = wallet."api_key_id" AND m."month" = wallet."budget_month" AND wallet.unused > 0
  )
  SELECT "amount_micros", "captured_micros" FROM settled
$fn$;

CREATE FUNCTION "aeriox_complete_job"(
    p_job_id UUID, p_actual BIGINT, p_duration_ms INTEGER, p_assets JSONB,
    OUT outcome TEXT, OUT held_micros BIGINT, OUT captured_micros BIGINT, OUT deliveries INTEGER,
    OUT job_type TEXT, OUT workspace_id UUID, OUT character_id UUID, OUT output_asset_ids UUID[], OUT provider TEXT, OUT model TEXT,
    OUT created_at TIMESTAMPTZ, OUT started_at TIMESTAMPTZ, OUT completed_at TIMESTAMPTZ
) LANGUAGE plpgsql VOLATILE AS $fn$
#variable_conflict use_column
DECLARE
    v_job RECORD;
    v_hold RECORD;
    v_charge BIGINT;
    v_ids UUID[];
    v_workspace UUID;
BEGIN
    deliveries := 0;
    SELECT j."status", j."type", j."estimated_cost_micros" INTO v_job FROM "jobs" AS j WHERE j."id" = p_job_id FOR UPDATE;
    IF NOT FOUND OR v_job."status" <> 'running' THEN
        outcome := 'not_running';
        RETURN;
    END IF;
    IF v_job."type" = 'character_train' THEN
        outcome := 'fallback';
        RETURN;
    END IF;
    SELECT h."amount_micros", h."status" INTO v_hold FROM "holds" AS h WHERE h."job_id" = p_job_id FOR UPDATE;
    IF NOT FOUND THEN
        outcome := 'fallback';
        RETURN;
    END IF;
    -- Never above the hold: a provider reporting more than the estimate is capped at it.
    v_charge := COALESCE(LEAST(p_actual, v_job."estimated_cost_micros"), v_hold."amount_micros");
    IF v_hold."status" <> 'held' OR v_charge < 0 OR v_charge > v_hold."amount_micros" THEN
        outcome := 'fallback';
        RETURN;
    END IF;

    SELECT COALESCE(array_agg((e.v->>'id')::uuid ORDER BY e.ord), '{}') INTO v_ids
      FROM jsonb_array_elements(COALESCE(p_assets, '[]'::jsonb)) WITH ORDINALITY AS e(v, ord);

    UPDATE "jobs" AS j
       SET "status" = 'completed', "progress_pct" = 100, "completed_at" = now(), "duration_ms" = p_duration_ms,
           "output_asset_ids" = v_ids, "charged_cost_micros" = v_charge, "updated_at" = now()
     WHERE j."id" = p_job_id
    RETURNING j."type"::text, j."workspace_id", j."character_id", j."output_asset_ids", j."provider", j."model", j."created_at", j."started_at", j."completed_at"
      INTO job_type, workspace_id, character_id, output_asset_ids, provider, model, created_at, started_at, completed_at;

    -- The capture, as wallet/holds.ts captures: the one definition, aeriox_capture_hold (above).
    PERFORM 1 FROM "aeriox_capture_hold"(p_job_id, v_charge);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'aeriox_complete_job: the hold of job % was not captured', p_job_id;
    END IF;
    v_workspace := workspace_id;

    INSERT INTO "assets" ("id", "workspace_id", "job_id", "content_type", "storage_key", "size_bytes", "width", "height", "duration_s")
    SELECT (e.v->>'id')::uuid, v_workspace, p_job_id, e.v->>'content_type', e.v->>'storage_key', (e.v->>'size_bytes')::bigint,
           (e.v->>'width')::integer, (e.v->>'height')::integer, (e.v->>'duration_s')::double precision
      FROM jsonb_array_elements(COALESCE(p_assets, '[]'::jsonb)) AS e(v);

    -- `job.completed` for every target: the workspace's endpoints subscribed to it, then the job's own webhook_url.
    INSERT INTO "webhook_deliveries" ("workspace_id", "endpoint_id", "job_id", "webhook_id", "event_type", "url", "payload", "next_attempt_at", "created_at", "updated_at")
    SELECT v_workspace, t."endpoint_id", p_job_id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), 'job.completed', t."url", NULL, now(), now(), now()
      FROM (SELECT x."id" AS "endpoint_id", x."url" FROM "webhook_endpoints" AS x WHERE x."workspace_id" = v_workspace AND 'job.completed' = ANY(x."events")
            UNION ALL
            SELECT NULL::uuid, o."url" FROM "job_webhooks" AS o WHERE o."job_id" = p_job_id AND 'job.completed' = ANY(o."events")) AS t;
    GET DIAGNOSTICS deliveries = ROW_COUNT;

    outcome := 'completed';
    held_micros := v_hold."amount_micros";
    captured_micros := v_charge;
END;
$fn$;
