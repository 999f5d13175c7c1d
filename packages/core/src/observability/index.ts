/**
 * The runtime's metrics, and the hooks of code that holds only a `Database` (job
 * acceptance and settlement: they run from HTTP handlers, the job processor, cancels,
 * the reconciler and the worker's final-failure path, none of which carries the runtime).
 *
 * A runtime attaches its metrics to the Database it opened, so those hooks find them.
 * In production each process opens its own database handle, so this is exactly "per
 * runtime". A runtime given a Database that another runtime already attached (tests run
 * an API runtime and a BullMQ worker runtime in one process on one handle) shares that
 * runtime's metrics instead of creating a second set, so every count lands in one place.
 */
import type { Database } from "../db/index.ts";
import type { Logger } from "../logger.ts";
import { createMetrics, type Metrics, type MetricsSources, type SettledJob } from "./metrics.ts";

export type { Metrics } from "./metrics.ts";

interface Attached {
  metrics: Metrics;
  logger: Logger;
  users: number;
}

const attached = new WeakMap<Database, Attached>();

export interface AttachedMetrics {
  metrics: Metrics;
  /** Drops this runtime's claim; the last one to leave closes the registry. */
  detach(): void;
}

export function attachMetrics(db: Database, logger: Logger, sources: Omit<MetricsSources, "db">, options: { defaultMetrics?: boolean } = {}): AttachedMetrics {
  let entry = attached.get(db);
  if (!entry) {
    entry = { metrics: createMetrics({ db, ...sources }, options), logger, users: 0 };
    attached.set(db, entry);
  }
  entry.users += 1;
  const mine = entry;
  let detached = false;
  return {
    metrics: mine.metrics,
    detach() {
      if (detached) return;
      detached = true;
      mine.users -= 1;
      if (mine.users === 0) {
        attached.delete(db);
        mine.metrics.close();
      }
    },
  };
}

/** A job was accepted and its hold placed (jobs/submit.ts). */
export function observeReservation(db: Database, job: { estimatedCostMicros: bigint }): void {
  attached.get(db)?.metrics.reserved(job.estimatedCostMicros);
}

/** The row a terminal transition selects (jobs/settle.ts TERMINAL_FIELDS). */
export interface SettledRow extends SettledJob {
  id: string;
  provider: string;
  model: string | null;
  error: unknown;
}

/**
 * After a terminal transition committed: counters, wait/run times, and the one log line
 * of a failed job (id, type, model, provider, error code — never the input or prompt).
 * Returns whether a transition happened (the settle functions' answer).
 */
export function observeSettlement(
  db: Database,
  outcome: { job: SettledRow; settlement: { status: "captured" | "released"; heldMicros: bigint; capturedMicros: bigint; alreadySettled: boolean } } | null,
): boolean {
  if (!outcome) return false;
  const entry = attached.get(db);
  if (!entry) return true;
  const { job, settlement } = outcome;
  // A hold someone else settled first was counted by them.
  if (!settlement.alreadySettled) entry.metrics.settled(job, settlement);
  if (job.status === "failed") {
    const code = (job.error as { error?: { code?: unknown } } | null)?.error?.code;
    entry.logger.warn({ jobId: job.id, type: job.type, model: job.model, provider: job.provider, code: typeof code === "string" ? code : null }, "job failed");
  }
  return true;
}
export * from "./http.ts";
