/**
 * One attempt at one job, the same code for the in-process runner and BullMQ
 * workers. The provider's request id is persisted as soon as it exists, so a
 * retried or recovered job polls that request instead of paying for a second one.
 *
 * What the queue sees (BullMQ's convention, queue.ts): an attempt that settled the job
 * (completed, or failed/blocked and refunded) returns; a transient provider failure with
 * attempts left rethrows that ProviderError, which the queue retries with backoff; anything
 * else that escapes is an `UnrecoverableError`: no retry (the reconciler and the deadline cover
 * the job) — except the database being unreachable under the attempt's own bookkeeping, which is
 * thrown as is, so the queue retries the attempt with backoff once it is back (the job's state is
 * in the database; nothing was settled).
 */
import type { Runtime } from "../runtime.ts";
import { isProviderError, ProviderError } from "../providers/errors.ts";
import type { ProviderContext, ProviderOutput, ProviderRequest } from "../providers/types.ts";
import { putJobOutputs, readWorkspaceAsset } from "../assets/assets.ts";
import { ownAssetIdOf } from "../assets/own-url.ts";
import { completeJobWithOutputs, endJobWithRefund } from "./settle.ts";
import { unrecoverable, type AttemptInfo } from "./queue.ts";
import { isDatabaseUnavailable } from "../db/unavailable.ts";
import { isTerminal, jobError } from "./states.ts";
import { kindOfJob } from "./kinds.ts";
import { triggerAutoRecharge } from "../wallet/auto-recharge.ts";
import { runningJobWebhooks } from "../webhooks/events.ts";

export type ProcessorServices = Pick<Runtime, "db" | "logger" | "catalog" | "providers" | "storage" | "jobEvents" | "config">;

/**
 * A running attempt learns of a cancel or a deadline failure from `jobEvents` (Redis
 * pub/sub or in-process) at once; re-reading its row this often is only the fallback for
 * an announcement lost (a Redis blip, a process that settled it without announcing).
 */
const CANCEL_FALLBACK_POLL_MS = 5000;
const PROGRESS_MIN_INTERVAL_MS = 250;
/** No progress write in a job's first moments: most local jobs are done by then, and completing writes 100 anyway. */
const PROGRESS_QUIET_MS = 300;

interface StartedRow {
  workspace_id: string;
  type: string;
  model: string | null;
  operation_id: string;
  input: unknown;
  provider_request_id: string | null;
  /** null on the job's first start (job.started is sent then). */
  previous_started_at: Date | null;
  /** Whether any target of the job listens to job.started / job.progress (webhooks/events.ts). */
  listens_started: boolean;
  listens_progress: boolean;
}

/**
 * The attempt's start in ONE statement: CAS queued|running → running (attempts + 1, started_at
 * kept from the first start), the row the attempt needs, and whether anyone listens to the running
 * events (aeriox_job_event_targets, the one definition of an event's targets: ARCHITECTURE.md,
 * Webhooks, "Recording"). No row: the job is terminal or gone.
 */
const START_SQL = `
  WITH prev AS (
    SELECT id, started_at FROM jobs WHERE id = $1::uuid AND status IN ('queued', 'running') FOR UPDATE
  )
  UPDATE jobs AS j SET status = 'running', attempts = j.attempts + 1, started_at = COALESCE(j.started_at, now()), updated_at = now()
    FROM prev WHERE j.id = prev.id
  RETURNING j.workspace_id::text AS workspace_id, j.type::text AS type, j.model, j.operation_id, j.input, j.provider_request_id,
    prev.started_at AS previous_started_at,
    EXISTS (SELECT 1 FROM aeriox_job_event_targets(j.id, j.workspace_id, 'job.started')) AS listens_started,
    EXISTS (SELECT 1 FROM aeriox_job_event_targets(j.id, j.workspace_id, 'job.progress')) AS listens_progress`;

export async function processJob(services: ProcessorServices, jobId: string, attempt: AttemptInfo): Promise<void> {
  let retry: ProviderError | undefined;
  try {
    retry = await attemptJob(services, jobId, attempt);
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw err;
    throw unrecoverable(err);
  }
  if (retry) throw retry;
}

/** Runs the attempt; resolves to the transient failure to retry, if any (the job is `queued` again then). */
async function attemptJob(services: ProcessorServices, jobId: string, attempt: AttemptInfo): Promise<ProviderError | undefined> {
  const { db, logger } = services;
  const [row] = await db.query<StartedRow>(START_SQL, [jobId]);
  if (!row) return; // settled already (cancel, deadline, an earlier attempt), or gone
  const job = {
    id: jobId,
    workspaceId: row.workspace_id,
    type: row.type,
    model: row.model,
    operationId: row.operation_id,
    input: row.input,
    providerRequestId: row.provider_request_id,
    startedAt: row.previous_started_at,
  };
  const log = logger.child({ jobId, attempt: attempt.number, model: job.model });
  // job.started / job.progress webhooks (webhooks/events.ts); job.completed is recorded with the settlement.
  const webhooks = await runningJobWebhooks(services, job, { started: row.listens_started, progress: row.listens_progress });
  await webhooks.started();

  const abort = new AbortController();
  const ended = () => abort.abort(new ProviderError("timeout", "job ended while running", { retryable: false, code: "job_ended" }));
  const unwatch = services.jobEvents.watch(jobId, ended);
  const watcher = setInterval(() => {
    db.prisma.job
      .findUnique({ where: { id: jobId }, select: { status: true } })
      .then((row) => {
        if (!row || isTerminal(row.status)) ended();
      })
      .catch(() => undefined);
  }, CANCEL_FALLBACK_POLL_MS);

  const entry = services.catalog.byOperation(job.operationId);
  const request: ProviderRequest = { jobId, kind: kindOfJob(job.type), model: job.model ?? entry?.model ?? job.operationId, input: job.input as Record<string, unknown> };
  const startedAt = Date.now();
  let lastProgressAt = 0;
  let quietProgress: { pct: number; timer: NodeJS.Timeout } | undefined;
  const writeProgress = async (clamped: number) => {
    lastProgressAt = Date.now();
    await db.prisma.job.updateMany({ where: { id: jobId, status: "running" }, data: { progressPct: clamped, updatedAt: new Date() } });
    webhooks.progress();
  };
  const ctx: ProviderContext = {
    signal: abort.signal,
    existingRequestId: job.providerRequestId,
    async recordRequestId(id) {
      await db.prisma.job.updateMany({ where: { id: jobId, status: "running" }, data: { providerRequestId: id, submitStartedAt: new Date(), updatedAt: new Date() } });
    },
    async reportProgress(pct) {
      const clamped = Math.max(0, Math.min(99, Math.round(pct)));
      const sinceStart = Date.now() - startedAt;
      if (sinceStart < PROGRESS_QUIET_MS) {
        // Kept, and written when the quiet time is over if the job is still running then.
        if (quietProgress) quietProgress.pct = clamped;
        else {
          const pending = { pct: clamped, timer: setTimeout(() => void writeProgress(pending.pct).catch(() => undefined), PROGRESS_QUIET_MS - sinceStart) };
          quietProgress = pending;
        }
        return;
      }
      if (Date.now() - lastProgressAt < PROGRESS_MIN_INTERVAL_MS && pct < 100) return;
      await writeProgress(clamped);
    },
    readAsset: (assetId) => readWorkspaceAsset(services, job.workspaceId, assetId),
    readAssetUrl: (url) => {
      const assetId = ownAssetIdOf(url, services.config.publicUrl);
      return assetId ? readWorkspaceAsset(services, job.workspaceId, assetId) : null;
    },
  };

  // Whether this attempt moved the job to a terminal state: then it is announced (after this
  // attempt stopped listening), so a `Prefer: wait` or audio request waiting on it answers at once.
  let settledHere = false;
  let retry: ProviderError | undefined;
  try {
    if (!entry) throw new ProviderError("unavailable", `Operation ${job.operationId} is no longer in the pricing catalog`, { retryable: false, code: "unknown_operation" });
    const result = await services.providers.forEntry(entry).run(request, ctx);
    if (abort.signal.aborted) return; // cancelled meanwhile: the cancel settled it
    if (result.nsfw) {
      settledHere = await endJobWithRefund(db, jobId, "nsfw_blocked", jobError("nsfw_blocked", "The provider's safety checker blocked this content; the reservation was refunded"));
      return;
    }
    const owner = { id: jobId, workspaceId: job.workspaceId };
    const stored = await putJobOutputs(services, owner, result.outputs as ProviderOutput[]);
    const completed = await completeJobWithOutputs(db, owner, stored, { actualCostMicros: result.actualCostMicros, durationMs: Date.now() - startedAt });
    settledHere = completed;
    triggerAutoRecharge(services, job.workspaceId); // fire-and-forget: never fails the job
    if (completed && result.actualCostMicros === null) log.warn("provider reported no cost; settled at the held amount");
  } catch (err) {
    if (abort.signal.aborted) return;
    const outcome = await handleFailure(services, jobId, attempt, err, log);
    if (outcome instanceof ProviderError) retry = outcome;
    else settledHere = outcome;
  } finally {
    clearInterval(watcher);
    clearTimeout(quietProgress?.timer);
    unwatch();
    if (settledHere) void services.jobEvents.announce(jobId);
  }
  return retry;
}

/**
 * Settles a failed attempt: true when it ended the job, false when it was settled elsewhere,
 * or the transient failure to retry (the job is back to `queued` for it).
 */
async function handleFailure(services: ProcessorServices, jobId: string, attempt: AttemptInfo, err: unknown, log: Runtime["logger"]): Promise<boolean | ProviderError> {
  const providerError = isProviderError(err) ? err : null;
  if (providerError?.kind === "nsfw") {
    return endJobWithRefund(services.db, jobId, "nsfw_blocked", jobError("nsfw_blocked", providerError.providerMessage));
  }
  if (providerError?.retryable && !attempt.final) {
    log.warn({ code: providerError.code }, "transient provider failure; will retry");
    // Back to queued while it waits for its retry: the state says what is true.
    await services.db.prisma.job.updateMany({ where: { id: jobId, status: "running" }, data: { status: "queued", updatedAt: new Date() } });
    return providerError;
  }
  if (!providerError) log.error({ err }, "job failed unexpectedly");
  const error = providerError
    ? jobError(providerError.code, providerError.providerMessage, { provider_status: providerError.status ?? null, attempts: attempt.number })
    : jobError("internal_error", "The job failed unexpectedly; the reservation was refunded");
  return endJobWithRefund(services.db, jobId, "failed", error);
}
