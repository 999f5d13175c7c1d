/**
 * The queue carries only job ids; the database row is the truth. Two
 * implementations share one processor: BullMQ (REDIS_URL set, workers in their own
 * processes) and an in-process runner (the embedded default). Each provider has
 * its own lane so a slow provider cannot starve the others.
 */
export interface QueuedJobRef {
  id: string;
  provider: string;
}

export interface AttemptInfo {
  /** 1-based attempt number. */
  number: number;
  /** No retry follows this attempt: a transient failure now fails the job. */
  final: boolean;
}

/** Runs one attempt. Throw `RetryLater` to be retried with backoff (unless final). */
export type JobProcessor = (jobId: string, attempt: AttemptInfo) => Promise<void>;

export class RetryLater extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = "RetryLater";
  }
}

export interface JobQueue {
  readonly kind: "inprocess" | "bullmq";
  enqueue(job: QueuedJobRef): Promise<void>;
  /** Whether the queue still holds the job (waiting, delayed or active); the reconciler re-enqueues the rest. */
  holds(job: QueuedJobRef): Promise<boolean>;
  close(): Promise<void>;
}

export const MAX_ATTEMPTS = 3;
export const BACKOFF_BASE_MS = 2000;

export interface InProcessQueueOptions {
  processor: JobProcessor;
  /** Concurrent jobs per provider lane. */
  concurrency: number;
  maxAttempts?: number;
  backoffMs?: number;
  onError?: (jobId: string, err: unknown) => void;
}

/** The embedded runner: per-provider lanes with bounded concurrency, retries with exponential backoff. */
export function createInProcessQueue(options: InProcessQueueOptions): JobQueue {
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const backoff = options.backoffMs ?? BACKOFF_BASE_MS;
  const lanes = new Map<string, { running: number; waiting: Array<{ id: string; attempt: number }> }>();
  const held = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const laneOf = (provider: string) => {
    let lane = lanes.get(provider);
    if (!lane) lanes.set(provider, (lane = { running: 0, waiting: [] }));
    return lane;
  };

  const pump = (provider: string) => {
    const lane = laneOf(provider);
    while (!closed && lane.running < options.concurrency && lane.waiting.length > 0) {
      const next = lane.waiting.shift()!;
      lane.running += 1;
      const attempt = { number: next.attempt, final: next.attempt >= maxAttempts };
      options
        .processor(next.id, attempt)
        .then(
          () => held.delete(next.id),
          (err) => {
            if (err instanceof RetryLater && !attempt.final && !closed) {
              const timer = setTimeout(() => {
                timers.delete(timer);
                laneOf(provider).waiting.push({ id: next.id, attempt: next.attempt + 1 });
                pump(provider);
              }, backoff * 2 ** (next.attempt - 1));
              timers.add(timer);
            } else {
              held.delete(next.id);
              options.onError?.(next.id, err);
            }
          },
        )
        .finally(() => {
          lane.running -= 1;
          pump(provider);
        });
    }
  };

  return {
    kind: "inprocess",
    async enqueue(job) {
      if (closed) throw new Error("queue is closed");
      if (held.has(job.id)) return;
      held.add(job.id);
      laneOf(job.provider).waiting.push({ id: job.id, attempt: 1 });
      pump(job.provider);
    },
    async holds(job) {
      return held.has(job.id);
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Let running attempts finish (bounded) so they do not outlive the database.
      const deadline = Date.now() + 10_000;
      while ([...lanes.values()].some((l) => l.running > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    },
  };
}
