/**
 * The safety net behind the queue: fails and refunds jobs past their deadline,
 * and re-enqueues active jobs that no queue holds (lost on a restart, or a Redis
 * flush). Safe to run in many processes at once: every change is a CAS, and
 * enqueueing an id twice is a no-op.
 */
import type { Runtime } from "../runtime.ts";
import { endJobWithRefund } from "./settle.ts";
import { jobError } from "./states.ts";
import { cancelAtProvider } from "./cancel.ts";

type ReconcilerServices = Pick<Runtime, "db" | "queue" | "catalog" | "providers" | "logger">;

/** A queued/running job untouched this long, and not held by the queue, is re-enqueued. */
const LOST_AFTER_MS = 15_000;
const BATCH = 100;

export async function reconcileOnce(services: ReconcilerServices, now = new Date()): Promise<{ expired: number; requeued: number }> {
  const { db, queue, logger } = services;
  let expired = 0;
  let requeued = 0;

  const overdue = await db.prisma.job.findMany({ where: { status: { in: ["queued", "running"] }, deadlineAt: { lt: now } }, take: BATCH });
  for (const job of overdue) {
    const failed = await endJobWithRefund(db, job.id, "failed", jobError("deadline_exceeded", "The job did not finish before its deadline; the reservation was refunded"));
    if (failed) {
      expired += 1;
      void cancelAtProvider(services, job);
    }
  }

  const quiet = await db.prisma.job.findMany({
    where: { status: { in: ["queued", "running"] }, updatedAt: { lt: new Date(now.getTime() - LOST_AFTER_MS) }, deadlineAt: { gte: now } },
    select: { id: true, provider: true, workspaceId: true },
    take: BATCH,
  });
  for (const job of quiet) {
    try {
      if (await queue.holds(job)) continue;
      await queue.enqueue(job);
      requeued += 1;
    } catch (err) {
      logger.warn({ err, jobId: job.id }, "reconciler could not re-enqueue");
    }
  }
  if (expired || requeued) logger.info({ expired, requeued }, "reconciled jobs");
  return { expired, requeued };
}

export function startReconciler(services: ReconcilerServices, intervalMs = 5000): { stop(): void } {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    reconcileOnce(services)
      .catch((err) => services.logger.warn({ err }, "reconciler tick failed"))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
