/** Job rows → the spec's Job body (and the deprecated generation body). */
import type { Database, Job } from "../db/index.ts";
import type { UrlSigner } from "../assets/signed-urls.ts";
import { ApiError } from "../errors.ts";
import { microsToCredits, microsToUsd } from "../money.ts";
import type { JobError } from "./states.ts";

/** The columns the Job body shows (not `input`, which can be large). */
export type JobBodyFields = Pick<
  Job,
  "id" | "type" | "status" | "model" | "progressPct" | "estimatedCostMicros" | "chargedCostMicros" | "outputAssetIds" | "error" | "createdAt" | "updatedAt" | "completedAt" | "prismId"
>;

// The poll (`GET /v1/jobs/{id}`) is the most frequent read: one statement on the raw
// driver (ARCHITECTURE.md, Money, "Hot path"), scoped to the workspace like every read.
const JOB_BODY_SQL = `
  SELECT id::text AS id, type::text AS type, status::text AS status, model, progress_pct, estimated_cost_micros, charged_cost_micros,
         output_asset_ids::text[] AS output_asset_ids, error, created_at, updated_at, completed_at, prism_id
    FROM jobs WHERE id = $1::uuid AND workspace_id = $2::uuid`;

interface JobBodyRow {
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
}

/** The job's body fields, or 404 (the same for another workspace's job as for a missing one). */
export async function findWorkspaceJobBody(services: { db: Database }, workspaceId: string, jobId: string): Promise<JobBodyFields> {
  const [row] = await services.db.query<JobBodyRow>(JOB_BODY_SQL, [jobId, workspaceId]);
  if (!row) throw ApiError.notFound("Job");
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
