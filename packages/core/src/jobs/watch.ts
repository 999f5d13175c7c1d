/**
 * A job's changes as an async iterator (for Server-Sent Events): yields the job
 * now, then each time its status or progress changes, and ends after a terminal
 * state. Reads the row, so it sees changes made by any worker process.
 */
import type { Runtime } from "../runtime.ts";
import type { Job } from "../db/index.ts";
import { isTerminal } from "./states.ts";

const POLL_MS = 200;

export async function* watchJob(services: Pick<Runtime, "db">, initial: Job, signal: AbortSignal): AsyncGenerator<Job> {
  let last = initial;
  yield last;
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
