/**
 * BullMQ transport (REDIS_URL set): one queue per provider lane, named
 * `jobs-<provider>`, carrying `{ jobId }` with the job id as BullMQ's id (so
 * enqueueing twice is a no-op). Workers retry transient failures with exponential
 * backoff, and a job whose worker died (stalled) is picked up again; BullMQ's own
 * final failure lands in `onFinalFailure` so the job is failed and refunded.
 */
import { Queue, Worker, type Job as BullJob, type ConnectionOptions } from "bullmq";
import { BACKOFF_BASE_MS, MAX_ATTEMPTS, RetryLater, type JobProcessor, type JobQueue, type QueuedJobRef } from "./queue.ts";

export const LANE_CONCURRENCY: Record<string, number> = { fal: 20, elevenlabs: 10, local: 4, compose: 2, aeriox: 4 };

function connectionOf(redisUrl: string): ConnectionOptions {
  const url = new URL(redisUrl);
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.pathname.length > 1 ? { db: Number(url.pathname.slice(1)) } : {}),
    ...(url.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

const laneName = (provider: string) => `jobs-${provider}`;

export function createBullQueue(options: { redisUrl: string; prefix: string }): JobQueue {
  const connection = connectionOf(options.redisUrl);
  const queues = new Map<string, Queue>();
  const queueOf = (provider: string) => {
    let queue = queues.get(provider);
    if (!queue) {
      queue = new Queue(laneName(provider), { connection: { ...connection, maxRetriesPerRequest: 1, enableOfflineQueue: false }, prefix: options.prefix });
      queue.on("error", () => undefined); // surfaced by the failing call (→ 503 queue_unavailable)
      queues.set(provider, queue);
    }
    return queue;
  };
  return {
    kind: "bullmq",
    async enqueue(job) {
      await queueOf(job.provider).add(
        "run",
        { jobId: job.id },
        { jobId: job.id, attempts: MAX_ATTEMPTS, backoff: { type: "exponential", delay: BACKOFF_BASE_MS }, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
      );
    },
    async holds(job: QueuedJobRef) {
      const found = await queueOf(job.provider).getJob(job.id);
      if (!found) return false;
      const state = await found.getState();
      return ["waiting", "delayed", "active", "prioritized", "waiting-children"].includes(state);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
    },
  };
}

export interface BullWorkersOptions {
  redisUrl: string;
  prefix: string;
  providers: string[];
  processor: JobProcessor;
  /** Called when BullMQ gives up on a job without the processor settling it (e.g. stalled too often). */
  onFinalFailure: (jobId: string, reason: string) => Promise<void>;
  concurrencyScale?: number;
  /** Lock/stall timings; tests shorten them to observe crash recovery quickly. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
}

export function startBullWorkers(options: BullWorkersOptions): { close(): Promise<void> } {
  const connection = connectionOf(options.redisUrl);
  const workers = options.providers.map((provider) => {
    const worker = new Worker(
      laneName(provider),
      async (job: BullJob<{ jobId: string }>) => {
        const number = job.attemptsMade + 1;
        await options.processor(job.data.jobId, { number, final: number >= (job.opts.attempts ?? MAX_ATTEMPTS) });
      },
      {
        connection,
        prefix: options.prefix,
        concurrency: Math.max(1, Math.round((LANE_CONCURRENCY[provider] ?? 4) * (options.concurrencyScale ?? 1))),
        maxStalledCount: 1,
        ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
        ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      },
    );
    worker.on("failed", (job, err) => {
      if (!job) return;
      const exhausted = job.attemptsMade >= (job.opts.attempts ?? MAX_ATTEMPTS) || !(err instanceof RetryLater);
      if (exhausted) void options.onFinalFailure(job.data.jobId, err.message).catch(() => undefined);
    });
    worker.on("error", () => undefined);
    return worker;
  });
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}
