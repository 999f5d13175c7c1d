/** Job rows → the spec's Job body (and the deprecated generation body). */
import type { Database, Job } from "../db/index.ts";
import type { UrlSigner } from "../assets/signed-urls.ts";
import { createLaneBatcher } from "../db/batcher.ts";
import { ApiError } from "../errors.ts";
import { isUuid } from "../ids.ts";
import { microsToCredits, microsToUsd } from "../money.ts";
import type { JobError } from "./states.ts";

/** The columns the Job body shows (not `input`, which can be large). */
export type JobBodyFields = Pick<
  Job,
  "id" | "type" | "status" | "model" | "progressPct" | "estimatedCostMicros" | "chargedCostMicros" | "outputAssetIds" | "error" | "createdAt" | "updatedAt" | "completedAt" | "prismId"
> & {
  /** `queue_position`, where the read computed it (QUEUE_POSITION_SQL); absent from bodies built without it. */
  queuePosition?: number | null;
};

/** Counting stops here: a position beyond it is reported as this (the count stays a bounded index scan). */
export const QUEUE_POSITION_CAP = 10_000;

/**
 * `queue_position` of the job row aliased `j`: while it is `queued`, 1 + the number of queued
 * jobs of its provider lane (`provider`, the queue's lane) created before it, across every
 * workspace; null otherwise. Served by the index `jobs_status_provider_created_at_idx`. Fair
 * scheduling serves a lane round-robin across workspaces, so a job may start before jobs of
 * other workspaces that are ahead of it here: the position is how many could start first at most.
 */
export const QUEUE_POSITION_SQL = `
  CASE WHEN j.status = 'queued' THEN (
    SELECT count(*)::int + 1 FROM (
      SELECT 1 FROM jobs q
       WHERE q.status = 'queued' AND q.provider = j.provider AND (q.created_at, q.id) < (j.created_at, j.id)
       LIMIT ${QUEUE_POSITION_CAP - 1}) ahead
  ) END`;

/** The Job body's columns of the row aliased `j` (with its queue position), for raw-driver reads. */
export const JOB_BODY_COLUMNS = `
  j.id::text AS id, j.type::text AS type, j.status::text AS status, j.model, j.progress_pct, j.estimated_cost_micros, j.charged_cost_micros,
  j.output_asset_ids::text[] AS output_asset_ids, j.error, j.created_at, j.updated_at, j.completed_at, j.prism_id,
  ${QUEUE_POSITION_SQL} AS queue_position`;

// The poll (`GET /v1/jobs/{id}`) is the most frequent read: one statement on the raw
// driver (ARCHITECTURE.md, Money, "Hot path"), scoped to the workspace like every read.
const JOB_BODY_SQL = `SELECT ${JOB_BODY_COLUMNS} FROM jobs j WHERE j.id = $1::uuid AND j.workspace_id = $2::uuid`;
// Concurrent reads share one statement (db/batcher.ts): the ids and their workspaces as two
// comma-separated lists (uuids hold no comma), each row tagged with its read's position.
const JOB_BODIES_SQL = `
  SELECT k.ord, ${JOB_BODY_COLUMNS}
    FROM unnest(string_to_array($1, ',')::uuid[], string_to_array($2, ',')::uuid[]) WITH ORDINALITY AS k(id, workspace_id, ord)
    JOIN jobs j ON j.id = k.id AND j.workspace_id = k.workspace_id`;
/** Most reads in one statement. */
const READ_BATCH_LIMIT = 64;
/** Reads in flight at once per process: more than one, so a slow statement holds up only its lane's reads. */
const READ_LANES = 4;
const readLaneOf = (jobId: string) => `read-${parseInt(jobId.slice(-2), 16) % READ_LANES}`;

interface JobRead {
  jobId: string;
  workspaceId: string;
}

const readJob = async (db: Database, read: JobRead) => (await db.query<JobBodyRow>(JOB_BODY_SQL, [read.jobId, read.workspaceId], { prepared: true }))[0];

const jobReads = createLaneBatcher<JobRead, JobBodyRow | undefined>({
  limit: READ_BATCH_LIMIT,
  one: readJob,
  async many(db, reads) {
    const rows = await db.query<JobBodyRow & { ord: string | number | bigint }>(
      JOB_BODIES_SQL,
      [reads.map((r) => r.jobId).join(","), reads.map((r) => r.workspaceId).join(",")],
      { prepared: true },
    );
    const byRead: Array<JobBodyRow | undefined> = new Array(reads.length);
    for (const row of rows) byRead[Number(row.ord) - 1] = row;
    return byRead;
  },
});

export interface JobBodyRow {
  id: string;
  type: Job["type"];
  status: Job["status"];
  model: string | null;
  progress_pct: number | null;
  estimated_cost_micros: bigint;
  charged_cost_micros: bigint | null;
  output_asset_ids: string[] | null;
  error: Job["error"];
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
  prism_id: string | null;
  queue_position: number | null;
}

/** The job's body fields, or 404 (the same for another workspace's job as for a missing one). */
export async function findWorkspaceJobBody(services: { db: Database }, workspaceId: string, jobId: string): Promise<JobBodyFields> {
  // Anything but a uuid names no job, and must not reach the batched statement's comma-separated list.
  if (!isUuid(jobId)) throw ApiError.notFound("Job");
  const read = { jobId, workspaceId };
  // PGlite runs in this thread: a batch saves it no round trip, and measured slower there (5–10 %).
  const row = services.db.kind === "postgres" ? await jobReads.run(services.db, readLaneOf(jobId), read) : await readJob(services.db, read);
  if (!row) throw ApiError.notFound("Job");
  return jobBodyFieldsOf(row);
}

export function jobBodyFieldsOf(row: JobBodyRow): JobBodyFields {
  return {
    id: row.id,
    type: row.type,
    status: row.status,
    model: row.model,
    progressPct: row.progress_pct,
    estimatedCostMicros: row.estimated_cost_micros,
    chargedCostMicros: row.charged_cost_micros,
    outputAssetIds: row.output_asset_ids ?? [],
    error: row.error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    completedAt: row.completed_at,
    prismId: row.prism_id,
    queuePosition: row.queue_position === null ? null : Number(row.queue_position),
  };
}

export function outputUrls(job: Pick<Job, "outputAssetIds">, signer: UrlSigner): string[] {
  return job.outputAssetIds.map((id) => signer.sign(id).url);
}

export function toJobBody(job: JobBodyFields, signer: UrlSigner) {
  const completed = job.status === "completed";
  return {
    job_id: job.id,
    type: job.type,
    status: job.status,
    model: job.model,
    progress_pct: job.progressPct,
    estimated_cost_usd: microsToUsd(job.estimatedCostMicros),
    charged_cost_usd: job.chargedCostMicros === null ? null : microsToUsd(job.chargedCostMicros),
    output_urls: completed ? outputUrls(job, signer) : null,
    asset_ids: completed ? job.outputAssetIds : null,
    error: (job.error as JobError | null) ?? null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    completed_at: job.completedAt?.toISOString() ?? null,
    ...(job.queuePosition !== undefined ? { queue_position: job.queuePosition } : {}),
    ...(job.prismId ? { prism_id: job.prismId } : {}),
  };
}

const LEGACY_STATUS: Record<string, "queued" | "running" | "success" | "failed"> = {
  queued: "queued",
  running: "running",
  completed: "success",
  failed: "failed",
  cancelled: "failed",
  nsfw_blocked: "failed",
};

/** `GET /v1/generations/{id}` (deprecated): legacy status names, `success` for completed. */
export function toGenerationBody(job: Job, signer: UrlSigner) {
  const input = job.input as { prompt?: string };
  const error = job.error as JobError | null;
  return {
    id: job.id,
    status: LEGACY_STATUS[job.status] ?? "failed",
    model: job.model ?? job.operationId,
    prompt: input.prompt ?? "",
    kind: job.type,
    credits_charged: job.chargedCostMicros === null ? null : microsToCredits(job.chargedCostMicros),
    asset_urls: job.status === "completed" ? outputUrls(job, signer) : [],
    error: error ? error.error.message : job.status === "cancelled" ? "cancelled" : null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
  };
}
