/**
 * In-doubt accepts (docs/ARCHITECTURE.md, Money, "In-doubt accepts"). When the connection to
 * PostgreSQL dies under the accept statement, the statement may still have committed: the job row
 * and its hold exist although the client is answered 503 database_unavailable and will submit
 * again. Such a job must neither run nor be charged. Its id is kept here and, once the database
 * answers, the job is ended `failed` (`accept_unconfirmed`) with its hold released — a CAS, so a
 * job that never committed is simply not found. An id is kept for a grace period even when not
 * found, in case the statement's commit lands late, and the checks run every second, well inside
 * the reconciler's 15 s before it would re-enqueue an unqueued job.
 */
import type { Database } from "../db/index.ts";
import { isDatabaseUnavailable } from "../db/unavailable.ts";
import type { Logger } from "../logger.ts";
import { endJobWithRefund } from "./settle.ts";
import { jobError } from "./states.ts";

const CHECK_EVERY_MS = 1_000;
/** How long after the database answers again an id is still checked. */
const GRACE_MS = 10_000;

interface Pending {
  /** When the database first answered the check; null while it is still unreachable. */
  reachableSince: number | null;
}

const pendingByDb = new WeakMap<Database, Map<string, Pending>>();
const timers = new WeakMap<Database, NodeJS.Timeout>();

/** Records a job whose accept statement failed with the database unreachable. */
export function settleInDoubtAccept(db: Database, jobId: string, logger: Pick<Logger, "warn" | "error">): void {
  let pending = pendingByDb.get(db);
  if (!pending) pendingByDb.set(db, (pending = new Map()));
  pending.set(jobId, { reachableSince: null });
  schedule(db, logger);
}

function schedule(db: Database, logger: Pick<Logger, "warn" | "error">): void {
  if (timers.has(db)) return;
  const timer = setTimeout(() => {
    timers.delete(db);
    void checkAll(db, logger).finally(() => {
      if (pendingByDb.get(db)?.size) schedule(db, logger);
    });
  }, CHECK_EVERY_MS);
  timer.unref();
  timers.set(db, timer);
}

async function checkAll(db: Database, logger: Pick<Logger, "warn" | "error">): Promise<void> {
  const pending = pendingByDb.get(db);
  if (!pending) return;
  for (const [jobId, state] of pending) {
    try {
      const ended = await endJobWithRefund(db, jobId, "failed", jobError("accept_unconfirmed", "The submit was answered 503 (the database was unreachable) although the job had been recorded; it was not run and its reservation was refunded"));
      if (ended) {
        logger.warn({ jobId }, "in-doubt accept had committed: job ended and its reservation refunded");
        pending.delete(jobId);
        continue;
      }
      state.reachableSince ??= Date.now();
      if (Date.now() - state.reachableSince >= GRACE_MS) pending.delete(jobId);
    } catch (err) {
      if (isDatabaseUnavailable(err)) continue; // still cut off: try again
      logger.error({ err, jobId }, "could not settle an in-doubt accept");
      pending.delete(jobId);
    }
  }
}
