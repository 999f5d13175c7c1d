/**
 * Accepting a job: safety and capacity checks, then ONE transaction that creates
 * the job row and reserves its estimated cost, then the enqueue. A queue that is
 * down undoes the reservation (the job fails with `queue_unavailable`, refunded).
 */
import { randomUUID } from "node:crypto";
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import type { Principal } from "../auth/principal.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { reserve } from "../wallet/index.ts";
import { triggerAutoRecharge } from "../wallet/auto-recharge.ts";
import { endJobWithRefund } from "./settle.ts";
import { jobError, type JobType } from "./states.ts";

export type SubmitServices = Pick<Runtime, "db" | "config" | "providers" | "queue" | "logger">;

export interface SubmitJobRequest {
  principal: Principal;
  type: JobType;
  entry: CatalogEntry;
  /** What the provider receives: the validated body plus resolved extras. */
  input: Record<string, unknown>;
  priceMicros: bigint;
  /** The model as the caller named it (null for compose). */
  model: string | null;
  prismId?: string | null;
  characterId?: string | null;
}

/** 422 `prompt_blocked` before anything is reserved. Matches whole words, case-insensitively. */
export function assertPromptAllowed(config: Pick<Runtime["config"], "PROMPT_BLOCKLIST">, texts: Array<string | undefined | null>): void {
  const terms = config.PROMPT_BLOCKLIST ?? [];
  if (terms.length === 0) return;
  for (const text of texts) {
    if (!text) continue;
    const lower = text.toLowerCase();
    const hit = terms.find((term) => new RegExp(`(^|[^\\p{L}\\p{N}])${term.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^\\p{L}\\p{N}])`, "u").test(lower));
    if (hit) throw new ApiError(422, "prompt_blocked", "The prompt contains a blocked term", { term: hit });
  }
}

export function assertCircuitClosed(services: Pick<Runtime, "providers">, entry: CatalogEntry): void {
  if (services.providers.isCircuitOpen(entry.provider)) {
    throw ApiError.unavailable("circuit_open", `Provider ${entry.provider} is failing repeatedly; try again shortly`, { provider: entry.provider });
  }
}

export async function submitJob(services: SubmitServices, req: SubmitJobRequest) {
  assertCircuitClosed(services, req.entry);
  const { config, db } = services;
  const jobId = randomUUID();
  const job = await db.prisma.$transaction(async (tx) => {
    // Serialises submissions per workspace so the in-flight cap holds under concurrency.
    await tx.$queryRaw`SELECT id FROM workspaces WHERE id = ${req.principal.workspaceId}::uuid FOR UPDATE`;
    const inFlight = await tx.job.count({ where: { workspaceId: req.principal.workspaceId, status: { in: ["queued", "running"] } } });
    if (inFlight >= config.MAX_INFLIGHT_JOBS_PER_WORKSPACE) {
      throw ApiError.tooManyRequests("concurrency_limit", `This workspace already has ${inFlight} jobs in flight (limit ${config.MAX_INFLIGHT_JOBS_PER_WORKSPACE})`, 5);
    }
    const created = await tx.job.create({
      data: {
        id: jobId,
        workspaceId: req.principal.workspaceId,
        apiKeyId: req.principal.apiKeyId,
        type: req.type,
        status: "queued",
        model: req.model,
        operationId: req.entry.operationId,
        provider: req.entry.provider,
        input: req.input as object,
        estimatedCostMicros: req.priceMicros,
        prismId: req.prismId ?? null,
        characterId: req.characterId ?? null,
        deadlineAt: new Date(Date.now() + config.JOB_DEADLINE_SECONDS * 1000),
      },
    });
    await reserve(tx, {
      workspaceId: req.principal.workspaceId,
      jobId,
      amountMicros: req.priceMicros,
      apiKeyId: req.principal.apiKeyId,
      dailySpendCapMicros: req.principal.dailySpendCapMicros,
    });
    return created;
  });
  triggerAutoRecharge(services, req.principal.workspaceId); // fire-and-forget: never fails the submit

  try {
    await services.queue.enqueue({ id: job.id, provider: job.provider, workspaceId: job.workspaceId });
  } catch (err) {
    services.logger.error({ err, jobId }, "enqueue failed; refunding");
    await endJobWithRefund(db, job.id, "failed", jobError("queue_unavailable", "The job queue is unavailable; the reservation was refunded"));
    throw ApiError.unavailable("queue_unavailable", "The job queue is unavailable; nothing was charged. Try again shortly.");
  }
  return job;
}
