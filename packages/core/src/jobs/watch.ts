/**
 * A job's changes as an async iterator (for Server-Sent Events): yields the job
 * now, then each time its status or progress changes, and ends after a terminal
 * state. Reads the row, so it sees changes made by any worker process.
 *
 * Each event is a whole state, identified by `jobEventId` (the row's last change). A client
 * reconnecting with that id (`Last-Event-ID`) already has the current state: it is not sent
 * again, unless it is terminal (the stream always ends with the terminal state).
 */
import type { Runtime } from "../runtime.ts";
import type { Job } from "../db/index.ts";
import { isTerminal } from "./states.ts";

const POLL_MS = 200;

/** The SSE `id:` of a job's state. */
export function jobEventId(job: Pick<Job, "updatedAt">): string {
  return String(job.updatedAt.getTime());
}

export async function* watchJob(services: Pick<Runtime, "db">, initial: Job, signal: AbortSignal, lastEventId?: string): AsyncGenerator<Job> {
  let last = initial;
  if (lastEventId !== jobEventId(initial) || isTerminal(initial.status)) yield last;
  while (!isTerminal(last.status) && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const job = await services.db.prisma.job.findUnique({ where: { id: initial.id } });
    if (!job) return;
    if (job.status !== last.status || job.progressPct !== last.progressPct || job.outputAssetIds.length !== last.outputAssetIds.length) {
      last = job;
      yield job;
    }
  }
}
