/** Job rows → the spec's Job body (and the deprecated generation body). */
import type { Job } from "../db/index.ts";
import type { UrlSigner } from "../assets/signed-urls.ts";
import { microsToCredits, microsToUsd } from "../money.ts";
import type { JobError } from "./states.ts";

export function outputUrls(job: Pick<Job, "outputAssetIds">, signer: UrlSigner): string[] {
  return job.outputAssetIds.map((id) => signer.sign(id).url);
}

export function toJobBody(job: Job, signer: UrlSigner) {
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
