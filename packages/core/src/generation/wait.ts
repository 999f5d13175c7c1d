/**
 * Waiting for a job to end, for the synchronous audio endpoint and `Prefer: wait=N`
 * (RFC 7240) on the generation endpoints. The waiter hears of the end through the job end
 * signal (jobs/job-events.ts: Redis pub/sub on a scaled-out deployment, in-process
 * otherwise), which every terminal transition announces; it reads the job's status once
 * when it starts (after subscribing, so an end in between is not missed), once per
 * announcement, and every FALLBACK_POLL_MS as the fallback for an announcement lost — never
 * in a tight loop. Whatever ends the wait (the end, the timeout, the client going away),
 * the subscription, timer and abort listener are removed.
 */
import type { Runtime } from "../runtime.ts";
import { isTerminal } from "../jobs/states.ts";

const FALLBACK_POLL_MS = 2000;

type WaitServices = Pick<Runtime, "db" | "jobEvents">;

async function hasEnded(services: WaitServices, jobId: string): Promise<boolean> {
  const [row] = await services.db.query<{ status: string }>(`SELECT status::text AS status FROM jobs WHERE id = $1::uuid`, [jobId]);
  return !row || isTerminal(row.status);
}

/** Resolves true once the job is in a terminal state, false when `timeoutMs` passed or `signal` aborted first. Never rejects. */
export function waitForJobEnd(services: WaitServices, jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let done = false;
    let reading = false;
    let readAgain = false;
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      unwatch();
      clearTimeout(timer);
      clearInterval(fallback);
      signal?.removeEventListener("abort", onAbort);
      resolve(ended);
    };
    // One read at a time; an announcement during a read asks for one more.
    const check = () => {
      if (done) return;
      if (reading) {
        readAgain = true;
        return;
      }
      reading = true;
      hasEnded(services, jobId).then(
        (ended) => {
          reading = false;
          if (ended) finish(true);
          else if (readAgain) {
            readAgain = false;
            check();
          }
        },
        () => {
          reading = false; // the database blinked: the next announcement or fallback tick reads again
        },
      );
    };
    const onAbort = () => finish(false);
    const unwatch = services.jobEvents.watch(jobId, check);
    const timer = setTimeout(() => finish(false), Math.max(0, timeoutMs));
    const fallback = setInterval(check, FALLBACK_POLL_MS);
    signal?.addEventListener("abort", onAbort, { once: true });
    check();
  });
}

/** The job's row once it ended, or as it stands when `timeoutMs` passed or `signal` aborted. */
export async function waitForTerminal(services: WaitServices, jobId: string, timeoutMs: number, signal?: AbortSignal) {
  await waitForJobEnd(services, jobId, timeoutMs, signal);
  return services.db.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
}
