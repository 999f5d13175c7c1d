/** Waiting for a job to end: for the synchronous audio endpoint. Reads the row, so it works with any worker. */
import type { Runtime } from "../runtime.ts";
import { isTerminal } from "../jobs/states.ts";

export async function waitForTerminal(services: Pick<Runtime, "db">, jobId: string, timeoutMs: number, signal?: AbortSignal) {
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  for (;;) {
    const job = await services.db.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
    if (isTerminal(job.status) || Date.now() >= deadline || signal?.aborted) return job;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(250, delay * 2);
  }
}
