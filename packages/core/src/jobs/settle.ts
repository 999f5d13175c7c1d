/**
 * Terminal transitions with their settlement, each in ONE transaction: the
 * compare-and-set on the job's state and the wallet capture/release commit
 * together or not at all, so a crash between them cannot lose or double money.
 */
import type { Database, TransactionClient as Tx } from "../db/index.ts";
import { capture, release } from "../wallet/holds.ts";
import { ACTIVE_STATUSES, type JobError, type JobStatus } from "./states.ts";
import { applyTerminalSideEffects } from "./side-effects.ts";
import { observeSettlement } from "../observability/index.ts";
import { kickWebhookDeliveries } from "../webhooks/kick.ts";

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
