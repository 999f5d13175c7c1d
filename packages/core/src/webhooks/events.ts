/**
 * Job events → delivery rows (one per target: each endpoint of the workspace subscribed to the type,
 * and the job's own `webhook_url` when its filter has it). `job.completed` (any terminal state; the
 * Job's `status` says which) is recorded inside the settlement transaction (jobs/side-effects.ts), so
 * a terminal job has its deliveries exactly when it has its state: at least once, never lost. Its
 * body is fixed before the first attempt (delivery.ts), when the outputs' signed URLs can be made.
 * `job.started` and `job.progress` are recorded right after the state write (jobs/process.ts), with
 * their body, so a retry sends what was true then.
 */
import type { Database, TransactionClient } from "../db/index.ts";
import type { UrlSigner } from "../assets/signed-urls.ts";
import type { Logger } from "../logger.ts";
import { findWorkspaceJobBody, toJobBody } from "../jobs/serialize.ts";
import type { WebhookEventType } from "./request.ts";
import { kickWebhookDeliveries } from "./kick.ts";

type Client = Database["prisma"] | TransactionClient;

export interface JobEventSubject {
  id: string;
  workspaceId: string;
}

/**
 * Records `type` for every target; returns how many deliveries were created. Who the targets are is
 * defined once, in SQL (`aeriox_job_event_targets`, recorded by `aeriox_record_job_event`; migration
 * 20261202300000_record_job_event): the worker's one-statement completion (`aeriox_complete_job`)
 * and the start statement's "does anyone listen" (jobs/process.ts) use the same functions.
 */
export async function recordJobEvent(client: Client, job: JobEventSubject, type: WebhookEventType, payload: string | null, at = new Date()): Promise<number> {
  const [row] = await client.$queryRaw<Array<{ created: number }>>`
    SELECT aeriox_record_job_event(${job.id}::uuid, ${job.workspaceId}::uuid, ${type}::text, ${payload}::text, ${at.toISOString()}::timestamptz) AS created`;
  return row?.created ?? 0;
}

/** The body of an event: `{type, timestamp, data: <Job>}`, serialized once. */
export function eventBody(type: WebhookEventType, at: Date, job: unknown): string {
  return JSON.stringify({ type, timestamp: at.toISOString(), data: job });
}

/** For bodies of running jobs: their Job has no output URLs, so nothing is signed. */
const NO_SIGNER = {
  sign(): never {
    throw new Error("a running job has no outputs to sign");
  },
} as unknown as UrlSigner;

const PROGRESS_EVENT_MIN_INTERVAL_MS = 1000;

export interface RunningJobWebhooks {
  /** `job.started`, when this attempt is the job's first start and anyone listens. */
  started(): Promise<void>;
  /** `job.progress` after a progress write, at most one a second per attempt; never throws. */
  progress(): void;
}

/**
 * The non-terminal events of one attempt (jobs/process.ts). Recorded after the state write, outside
 * its transaction: a crash between the two loses that one started/progress event (the terminal
 * `job.completed` is transactional). Failures are logged, never fail the job.
 */
export async function runningJobWebhooks(
  services: { db: Database; logger: Logger },
  job: JobEventSubject & { startedAt: Date | null },
  /** Whether anyone listens to job.started / job.progress: read with the job's start (jobs/process.ts). */
  interest: { started: boolean; progress: boolean },
): Promise<RunningJobWebhooks> {
  let lastProgressAt = 0;
  const emit = async (type: WebhookEventType) => {
    try {
      const at = new Date();
      const body = eventBody(type, at, toJobBody(await findWorkspaceJobBody(services, job.workspaceId, job.id), NO_SIGNER));
      if ((await recordJobEvent(services.db.prisma, job, type, body, at)) > 0) kickWebhookDeliveries(services.db);
    } catch (err) {
      services.logger.warn({ err, jobId: job.id, type }, "could not record a webhook event");
    }
  };
  return {
    async started() {
      if (interest.started && !job.startedAt) await emit("job.started");
    },
    progress() {
      if (!interest.progress || Date.now() - lastProgressAt < PROGRESS_EVENT_MIN_INTERVAL_MS) return;
      lastProgressAt = Date.now();
      void emit("job.progress");
    },
  };
}
