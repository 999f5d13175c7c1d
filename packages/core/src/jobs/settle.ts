/**
 * Terminal transitions with their settlement, each in ONE transaction: the
 * compare-and-set on the job's state and the wallet capture/release commit
 * together or not at all, so a crash between them cannot lose or double money.
 *
 * The worker's completion (`completeJobWithOutputs`) is ONE statement, `aeriox_complete_job`
 * (migrations `20261202200000_worker_complete_job`, `20261202300000_record_job_event`): the CAS,
 * the capture, the output assets' rows and the `job.completed` deliveries (recorded as
 * recordJobEvent records them, webhooks/events.ts). Where that function declines (a character_train
 * job, a hold that is not as expected) nothing has changed and the general path below runs.
 */
import type { Database, TransactionClient as Tx } from "../db/index.ts";
import { capture, release } from "../wallet/holds.ts";
import { ACTIVE_STATUSES, type JobError, type JobStatus } from "./states.ts";
import { applyTerminalSideEffects } from "./side-effects.ts";
import { observeSettlement } from "../observability/index.ts";
import { kickWebhookDeliveries } from "../webhooks/kick.ts";
import { recordJobAssets, type StoredOutput } from "../assets/assets.ts";

// provider … error: for the settlement's metrics and failure log line (observability/index.ts), read in the same statement.
const TERMINAL_FIELDS = { id: true, type: true, workspaceId: true, status: true, characterId: true, outputAssetIds: true, provider: true, model: true, error: true, createdAt: true, startedAt: true, completedAt: true } as const;

export interface CompletedOutcome {
  actualCostMicros: bigint | null;
  durationMs: number;
}

/** CAS from an active state to `to`; returns false when the job was not active (someone else settled it). */
async function transition(tx: Tx, jobId: string, from: readonly JobStatus[], data: Record<string, unknown>): Promise<boolean> {
  const { count } = await tx.job.updateMany({ where: { id: jobId, status: { in: [...from] } }, data: { ...data, updatedAt: new Date() } });
  return count === 1;
}

export async function completeJob(db: Database, jobId: string, outcome: CompletedOutcome): Promise<boolean> {
  const settled = await db.prisma.$transaction(async (tx) => {
    const moved = await transition(tx, jobId, ["running"], { status: "completed", progressPct: 100, completedAt: new Date(), durationMs: outcome.durationMs });
    if (!moved) return null; // cancelled or failed meanwhile: that path released the hold
    const job = await tx.job.findUniqueOrThrow({ where: { id: jobId }, select: { estimatedCostMicros: true } });
    // Never above the hold: a provider reporting more than we reserved is capped at the hold.
    const reported = outcome.actualCostMicros;
    const actual = reported !== null && reported > job.estimatedCostMicros ? job.estimatedCostMicros : reported;
    const settled = await capture(tx, { jobId, actualMicros: actual });
    const done = await tx.job.update({ where: { id: jobId }, data: { chargedCostMicros: settled.capturedMicros }, select: TERMINAL_FIELDS });
    const deliveries = await applyTerminalSideEffects(tx, done);
    return { job: done, settlement: settled, deliveries };
  });
  if (settled?.deliveries) kickWebhookDeliveries(db);
  return observeSettlement(db, settled); // after commit: metrics count only what happened
}

/** failed / cancelled / nsfw_blocked: the whole hold goes back. */
export async function endJobWithRefund(db: Database, jobId: string, status: Exclude<JobStatus, "queued" | "running" | "completed">, error: JobError | null, from: readonly JobStatus[] = ACTIVE_STATUSES): Promise<boolean> {
  const settled = await db.prisma.$transaction(async (tx) => {
    const moved = await transition(tx, jobId, from, { status, error: error ?? undefined, completedAt: new Date(), progressPct: null });
    if (!moved) return null;
    const settlement = await release(tx, { jobId });
    const job = await tx.job.findUniqueOrThrow({ where: { id: jobId }, select: TERMINAL_FIELDS });
    const deliveries = await applyTerminalSideEffects(tx, job);
    return { job, settlement, deliveries };
  });
  if (settled?.deliveries) kickWebhookDeliveries(db);
  return observeSettlement(db, settled); // after commit; logs the failure line of a failed job
}

interface CompleteRow {
  outcome: "completed" | "not_running" | "fallback";
  held_micros: bigint | null;
  captured_micros: bigint | null;
  deliveries: number;
  job_type: string | null;
  workspace_id: string | null;
  character_id: string | null;
  output_asset_ids: string[] | null;
  provider: string | null;
  model: string | null;
  created_at: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
}

const COMPLETE_SQL = `SELECT outcome, held_micros, captured_micros, deliveries, job_type, workspace_id::text AS workspace_id, character_id::text AS character_id,
  output_asset_ids::text[] AS output_asset_ids, provider, model, created_at, started_at, completed_at
  FROM aeriox_complete_job($1::uuid, $2::bigint, $3::integer, $4::jsonb)`;

/**
 * A running job's success, with its outputs (bytes already in the store): ONE statement moves it
 * to `completed`, captures its hold, records the assets and the `job.completed` deliveries. Returns
 * false when the job was no longer running (cancelled or failed meanwhile: that path released the
 * hold, and nothing was recorded). Where the statement declines, the assets are recorded and
 * `completeJob` runs as before.
 */
export async function completeJobWithOutputs(db: Database, job: { id: string; workspaceId: string }, stored: StoredOutput[], outcome: CompletedOutcome): Promise<boolean> {
  const assets = stored.map((a) => ({ id: a.id, storage_key: a.storageKey, content_type: a.contentType, size_bytes: String(a.sizeBytes), width: a.width, height: a.height, duration_s: a.durationS }));
  const [row] = await db.query<CompleteRow>(COMPLETE_SQL, [job.id, outcome.actualCostMicros, outcome.durationMs, JSON.stringify(assets)]);
  if (!row || row.outcome === "not_running") return false;
  if (row.outcome === "fallback") {
    await recordJobAssets({ db }, job, stored);
    return completeJob(db, job.id, outcome);
  }
  if (row.deliveries > 0) kickWebhookDeliveries(db);
  return observeSettlement(db, {
    job: {
      id: job.id,
      type: row.job_type!,
      status: "completed",
      provider: row.provider!,
      model: row.model,
      error: null,
      createdAt: row.created_at!,
      startedAt: row.started_at,
      completedAt: row.completed_at,
    },
    settlement: { status: "captured", heldMicros: row.held_micros!, capturedMicros: row.captured_micros!, alreadySettled: false },
  });
}
