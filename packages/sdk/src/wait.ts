// jobs.wait: follow a job to a terminal state. Prefers the SSE stream `GET /v1/jobs/{id}/events`
// (one connection, instant updates) and falls back to polling `GET /v1/jobs/{id}` when the stream
// is unavailable. One deadline covers the whole wait; on abort/deadline the job is cancelled so an
// abandoned wait stops costing money.
import type { Aeriox } from "./client.ts";
import { APIConnectionError, APITimeoutError, AerioxError, JobFailedError } from "./errors.ts";
import { sleep } from "./env.ts";
import * as api from "./generated/sdk.gen.ts";
import type { Job } from "./generated/types.gen.ts";
import { StreamIdleError } from "./sse.ts";
import { abortWith } from "./transport.ts";

export interface WaitOptions {
  signal?: AbortSignal;
  /** Give up after this many ms from now, or at this Date. Rejects with APITimeoutError. */
  deadline?: number | Date;
  /** Called with every new snapshot of the job. */
  onProgress?: (job: Job) => void;
  /** First polling interval in ms when falling back to polling (grows ×1.5 up to 5 s). Default 1000. */
  pollInterval?: number;
  /** Cancel the job on the server when the wait is aborted or times out. Default true. */
  cancelOnAbort?: boolean;
  /** Skip the SSE stream and poll straight away. */
  stream?: boolean;
  /**
   * Switch from the stream to polling after this many ms without any bytes. The server sends a
   * keep-alive every 15 s, so silence means a dead (half-open) connection. Default 45 000.
   */
  streamIdleTimeout?: number;
}

const TERMINAL = new Set<Job["status"]>(["completed", "failed", "cancelled", "nsfw_blocked"]);
export const isTerminal = (job: Job) => TERMINAL.has(job.status);

class DeadlineReached extends Error {}

export async function waitForJob(client: Aeriox, id: string, opts: WaitOptions = {}): Promise<Job> {
  const ctl = new AbortController();
  const unfollow = abortWith(ctl, opts.signal);
  const ms = opts.deadline instanceof Date ? opts.deadline.getTime() - Date.now() : opts.deadline;
  const timer = ms === undefined ? undefined : setTimeout(() => ctl.abort(new DeadlineReached()), Math.max(0, ms));

  let last: Job | undefined;
  const seen = (job: Job) => {
    if (last && last.status === job.status && last.progress_pct === job.progress_pct) return;
    last = job;
    opts.onProgress?.(job);
  };

  try {
    let job = opts.stream === false ? undefined : await viaStream(client, id, ctl.signal, opts.streamIdleTimeout ?? 45_000, seen);
    job ??= await viaPolling(client, id, ctl.signal, opts.pollInterval ?? 1000, seen);
    if (job.status !== "completed") throw new JobFailedError(job);
    return job;
  } catch (err) {
    if (!ctl.signal.aborted) throw err;
    if (opts.cancelOnAbort !== false) {
      // Best effort and bounded: a 409 (already terminal) or a network error must not mask the abort.
      await client.jobs.cancel(id, { timeout: 5000, maxRetries: 1 }).catch(() => {});
    }
    if (ctl.signal.reason instanceof DeadlineReached) {
      throw new APITimeoutError(`Job ${id} did not finish before the deadline`, { code: "deadline_exceeded" });
    }
    throw ctl.signal.reason;
  } finally {
    clearTimeout(timer);
    unfollow();
  }
}

/**
 * Returns the terminal job, or undefined when the stream is unavailable or ended early. A dropped or
 * silent connection (or a 429/5xx) gets one reconnect, with Last-Event-ID, before polling takes over.
 */
async function viaStream(client: Aeriox, id: string, signal: AbortSignal, idleTimeout: number, seen: (j: Job) => void): Promise<Job | undefined> {
  let current: Job | undefined;
  try {
    for await (const ev of client.transport.stream(api.streamJobEvents, { path: { id } }, { signal, idleTimeout, maxRetries: 1 })) {
      const job = jobFromEvent(ev.data, current);
      if (!job) continue;
      current = job;
      seen(job);
      if (isTerminal(job)) return job;
    }
    return undefined; // stream closed before a terminal state: polling takes over
  } catch (err) {
    if (signal.aborted) throw err;
    // No stream endpoint (404/405/501), a busy or failing server (429/5xx: polling retries with
    // backoff) or a broken connection: fall back to polling. 401/403 are real answers and propagate.
    const status = err instanceof AerioxError ? (err.status ?? 0) : 0;
    if (err instanceof APIConnectionError || [404, 405, 429].includes(status) || status >= 500) return undefined;
    if (err instanceof StreamIdleError) return undefined; // silent (a reset stream is an APIConnectionError)
    throw err;
  }
}

/**
 * Events carry a Job (or `{ job }`, or a partial update such as `{ progress_pct }`); merge onto what we
 * know. `data` comes parsed when it is JSON; anything else (a plain-text heartbeat) is skipped.
 */
function jobFromEvent(parsed: unknown, current: Job | undefined): Job | undefined {
  if (!parsed || typeof parsed !== "object") return undefined;
  const obj = ((parsed as { job?: unknown }).job ?? parsed) as Partial<Job>;
  const merged = { ...current, ...obj } as Job;
  return merged.status ? merged : undefined;
}

async function viaPolling(client: Aeriox, id: string, signal: AbortSignal, interval: number, seen: (j: Job) => void): Promise<Job> {
  const max = Math.max(interval, 5000);
  for (let delay = interval; ; delay = Math.min(delay * 1.5, max)) {
    const job = await client.jobs.get(id, { signal });
    seen(job);
    if (isTerminal(job)) return job;
    await sleep(delay, signal);
  }
}
