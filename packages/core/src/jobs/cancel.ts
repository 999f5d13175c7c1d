/**
 * Cancelling a queued or running job: the state change and the refund commit
 * together; then the provider is told (best effort) so paid work stops too.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { endJobWithRefund } from "./settle.ts";
import { isTerminal } from "./states.ts";
import { kindOfJob } from "./kinds.ts";
import type { JobEndSignal } from "./job-events.ts";

/** `jobEvents` tells the process running the job to stop at once (the reconciler's deadline path passes the runtime, which has it). */
type CancelServices = Pick<Runtime, "db" | "catalog" | "providers" | "logger"> & { jobEvents?: JobEndSignal };

export async function findWorkspaceJob(services: Pick<Runtime, "db">, workspaceId: string, jobId: string) {
  const job = await services.db.prisma.job.findFirst({ where: { id: jobId, workspaceId } });
  if (!job) throw ApiError.notFound("Job");
  return job;
}

/**
 * After a job was settled as cancelled or failed by its deadline: tells the process running
 * it (which then stops its provider call and render) and the provider, for a submitted
 * request. Failures are logged, never surfaced.
 */
export async function cancelAtProvider(services: CancelServices, job: { id: string; operationId: string; model: string | null; type: string; input: unknown; providerRequestId: string | null }): Promise<void> {
  void services.jobEvents?.announce(job.id);
  if (!job.providerRequestId) return;
  try {
    const entry = services.catalog.byOperation(job.operationId);
    if (!entry) return;
    await services.providers
      .forEntry(entry)
      .cancel(job.providerRequestId, { jobId: job.id, kind: kindOfJob(job.type), model: job.model ?? entry.model, input: job.input as Record<string, unknown> });
  } catch (err) {
    services.logger.warn({ err, jobId: job.id }, "provider cancel failed");
  }
}

export async function cancelJob(services: CancelServices, workspaceId: string, jobId: string) {
  const job = await findWorkspaceJob(services, workspaceId, jobId);
  const conflict = (status: string) => ApiError.conflict("job_terminal", `Job is already ${status}`, { status });
  if (isTerminal(job.status)) throw conflict(job.status);
  const cancelled = await endJobWithRefund(services.db, jobId, "cancelled", null);
  const current = await findWorkspaceJob(services, workspaceId, jobId);
  if (!cancelled) throw conflict(current.status);
  void cancelAtProvider(services, current);
  return current;
}
