-- Who receives a job event, defined once (docs/ARCHITECTURE.md, Webhooks, "Recording"): until
-- now webhooks/events.ts recordJobEvent selected the targets through Prisma and aeriox_complete_job
-- selected them again in SQL, two definitions that could drift. Now both, and the "does anyone
-- listen" reads (jobs/process.ts start statement, webhooks/events.ts jobEventInterest), go through
-- the functions below.
-- Backward compatible: new functions, and aeriox_complete_job replaced with the same signature and
-- the same deliveries; a process of the previous version records events as these functions do.

-- The targets of event `p_type` of job `p_job_id` (of workspace `p_workspace_id`): every endpoint of
-- the workspace whose `events` has the type, then the job's own webhook_url when its filter has it.
-- STABLE and a single SELECT, so PostgreSQL inlines it into the statements that call it.
CREATE FUNCTION "aeriox_job_event_targets"(p_job_id UUID, p_workspace_id UUID, p_type TEXT)
RETURNS TABLE (endpoint_id UUID, url TEXT) LANGUAGE sql STABLE AS $fn$
  SELECT x."id", x."url" FROM "webhook_endpoints" AS x WHERE x."workspace_id" = p_workspace_id AND p_type = ANY(x."events")
  UNION ALL
  SELECT NULL::uuid, o."url" FROM "job_webhooks" AS o WHERE o."job_id" = p_job_id AND p_type = ANY(o."events")
$fn$;

-- Event `p_type` of a job recorded: one pending delivery row per target (aeriox_job_event_targets),
-- each with its own webhook id (`msg_` + 32 hex), `p_payload` as its body (null: fixed at the first
-- attempt, webhooks/delivery.ts) and due at `p_at`. Returns how many rows it created. Called by
-- webhooks/events.ts recordJobEvent (every event of every path) and by aeriox_complete_job.
CREATE FUNCTION "aeriox_record_job_event"(p_job_id UUID, p_workspace_id UUID, p_type TEXT, p_payload TEXT, p_at TIMESTAMPTZ)
RETURNS INTEGER LANGUAGE sql VOLATILE AS $fn$
  WITH created AS (
    INSERT INTO "webhook_deliveries" ("workspace_id", "endpoint_id", "job_id", "webhook_id", "event_type", "url", "payload", "next_attempt_at", "created_at", "updated_at")
    SELECT p_workspace_id, t."endpoint_id", p_job_id, 'msg_' || replace(gen_random_uuid()::text, '-', ''), p_type, t."url", p_payload, p_at, p_at, p_at
      FROM "aeriox_job_event_targets"(p_job_id, p_workspace_id, p_type) AS t
    RETURNING 1
  )
  SELECT count(*)::integer FROM created
$fn$;

-- The worker's completion (migration 20261202200000_worker_complete_job, which describes it),
-- unchanged but for its `job.completed` deliveries, now recorded by aeriox_record_job_event.
CREATE OR REPLACE FUNCTION "aeriox_complete_job"(
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

    -- The capture, as wallet/holds.ts captures: the one definition, aeriox_capture_hold (migration 20261202200000).
    PERFORM 1 FROM "aeriox_capture_hold"(p_job_id, v_charge);
    IF NOT FOUND THEN
        RAISE EXCEPTION 'aeriox_complete_job: the hold of job % was not captured', p_job_id;
    END IF;
    v_workspace := workspace_id;

    INSERT INTO "assets" ("id", "workspace_id", "job_id", "content_type", "storage_key", "size_bytes", "width", "height", "duration_s")
    SELECT (e.v->>'id')::uuid, v_workspace, p_job_id, e.v->>'content_type', e.v->>'storage_key', (e.v->>'size_bytes')::bigint,
           (e.v->>'width')::integer, (e.v->>'height')::integer, (e.v->>'duration_s')::double precision
      FROM jsonb_array_elements(COALESCE(p_assets, '[]'::jsonb)) AS e(v);

    -- `job.completed` for every target, as every job event is recorded (aeriox_record_job_event, above).
    deliveries := "aeriox_record_job_event"(p_job_id, v_workspace, 'job.completed', NULL, now());

    outcome := 'completed';
    held_micros := v_hold."amount_micros";
    captured_micros := v_charge;
END;
$fn$;
