/**
 * In-doubt accepts (docs/ARCHITECTURE.md, Money, "In-doubt accepts"). When the connection to
 * PostgreSQL dies under the accept statement, the statement may still have committed: the job row
 * and its hold exist although the client is answered 503 database_unavailable and will submit
 * again. Such a job must neither run nor be charged. Its id is kept here and, once the database
 * answers, the job is ended `failed` (`accept_unconfirmed`) with its hold released — a CAS, so a
 * job that never committed is simply not found. An id is kept for a grace period even when not
 * found, in case the statement's commit lands late, and the checks run every second, well inside
 * the reconciler's 15 s before it would re-enqueue an unqueued job.
 *
 * The ids live only in this process, so its shutdown (the runtime's close, bootstrap.ts) flushes
 * them: one more check, bounded, and an error line naming every id it could not settle, for an
 * operator to end by hand before the reconciler of another process runs it.
 */
import type { Database } from "../db/index.ts";
import { isDatabaseUnavailable } from "../db/unavailable.ts";
import type { Logger } from "../logger.ts";
import { endJobWithRefund } from "./settle.ts";
import { jobError } from "./states.ts";

const CHECK_EVERY_MS = 1_000;
/** How long after the database answers again an id is still checked. */
const GRACE_MS = 10_000;
/** The shutdown's last check may take this long: a small part of SHUTDOWN_TIMEOUT_SECONDS. */
const FLUSH_TIMEOUT_MS = 2_000;

type InDoubtLogger = Pick<Logger, "warn" | "error">;

interface Pending {
  /** When the database first answered the check; null while it is still unreachable. */
  reachableSince: number | null;
}

interface InDoubt {
  pending: Map<string, Pending>;
  timer: NodeJS.Timeout | null;
  /** The check in progress, if any: the flush waits for it rather than running beside it. */
  checking: Promise<void> | null;
}

const stateByDb = new WeakMap<Database, InDoubt>();

function stateOf(db: Database): InDoubt {
  let state = stateByDb.get(db);
  if (!state) stateByDb.set(db, (state = { pending: new Map(), timer: null, checking: null }));
  return state;
}

/** Records a job whose accept statement failed with the database unreachable. */
export function settleInDoubtAccept(db: Database, jobId: string, logger: InDoubtLogger): void {
  const state = stateOf(db);
  state.pending.set(jobId, { reachableSince: null });
  schedule(db, state, logger);
}

function schedule(db: Database, state: InDoubt, logger: InDoubtLogger): void {
  if (state.timer) return;
  state.timer = setTimeout(() => {
    state.timer = null;
    void check(db, state, logger).finally(() => {
      if (state.pending.size) schedule(db, state, logger);
    });
  }, CHECK_EVERY_MS);
  state.timer.unref();
}

/** One pass over the pending ids; never two at once. */
function check(db: Database, state: InDoubt, logger: InDoubtLogger): Promise<void> {
  state.checking ??= checkAll(db, state.pending, logger).finally(() => (state.checking = null));
  return state.checking;
}

async function checkAll(db: Database, pending: Map<string, Pending>, logger: InDoubtLogger): Promise<void> {
  for (const [jobId, entry] of pending) {
    try {
      const ended = await endJobWithRefund(db, jobId, "failed", jobError("accept_unconfirmed", "The submit was answered 503 (the database was unreachable) although the job had been recorded; it was not run and its reservation was refunded"));
      if (ended) {
        logger.warn({ jobId }, "in-doubt accept had committed: job ended and its reservation refunded");
        pending.delete(jobId);
        continue;
      }
      entry.reachableSince ??= Date.now();
      if (Date.now() - entry.reachableSince >= GRACE_MS) pending.delete(jobId);
    } catch (err) {
      if (isDatabaseUnavailable(err)) continue; // still cut off: try again
      logger.error({ err, jobId }, "could not settle an in-doubt accept");
      pending.delete(jobId);
    }
  }
}

/**
 * At shutdown (the runtime's close): checks the pending ids once more, for at most
 * FLUSH_TIMEOUT_MS, then forgets them. An id the database did not answer for may be a recorded
 * job that another process's reconciler would run and charge although its client was answered
 * 503: it is logged at error level for an operator. An id checked but not found is logged as a
 * warning (its commit could still land; docs/ARCHITECTURE.md, "In-doubt accepts").
 */
export async function flushInDoubtAccepts(db: Database, logger: InDoubtLogger, timeoutMs = FLUSH_TIMEOUT_MS): Promise<void> {
  const state = stateByDb.get(db);
  if (!state?.pending.size) return;
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
  let timer: NodeJS.Timeout | undefined;
  const lastCheck = (async () => {
    await state.checking; // a pass already running may have settled some
    if (state.pending.size) await check(db, state, logger);
  })();
  await Promise.race([lastCheck, new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  const unreachable: string[] = [];
  const notFound: string[] = [];
  for (const [jobId, { reachableSince }] of state.pending) (reachableSince === null ? unreachable : notFound).push(jobId);
  // Cleared, not replaced: a pass cut short by the timeout stops at its next id (it iterates this map).
  state.pending.clear();
  if (unreachable.length) {
    logger.error(
      { jobIds: unreachable },
      "shutting down with in-doubt accepts the database did not confirm: each may be a recorded job that would run and be charged although its client was answered 503; end each that exists and is not terminal as failed with its hold released (docs/ARCHITECTURE.md, In-doubt accepts)",
    );
  }
  if (notFound.length) logger.warn({ jobIds: notFound }, "shutting down with in-doubt accepts not recorded so far; a commit landing later would be run by the reconciler (docs/ARCHITECTURE.md, In-doubt accepts)");
}
