-- `GET /v1/jobs` lists a workspace's jobs newest first with a keyset cursor on
-- (created_at, id) (packages/core/src/jobs/list.ts): an index on all three columns serves
-- the order and the cursor's row comparison (scanned backwards). It makes the old
-- (workspace_id, created_at) index redundant, so that one goes.
CREATE INDEX "jobs_workspace_id_created_at_id_idx" ON "jobs"("workspace_id", "created_at", "id");
DROP INDEX "jobs_workspace_id_created_at_idx";

-- `Job.queue_position` counts the queued jobs of a provider lane created before a job
-- (jobs/serialize.ts, QUEUE_POSITION_SQL): a range scan of this index, bounded by the count's cap.
CREATE INDEX "jobs_status_provider_created_at_idx" ON "jobs"("status", "provider", "created_at");
