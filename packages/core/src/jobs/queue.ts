/**
 * The queue carries only job ids; the database row is the truth. Two
 * implementations share one processor: BullMQ (REDIS_URL set, workers in their own
 * processes) and an in-process runner (the embedded default). Each provider has
 * its own lane so a slow provider cannot starve the others.
 *
 * Fair scheduling (ARCHITECTURE.md, Jobs): inside a lane, waiting jobs are kept
 * per workspace and served round-robin across workspaces, and one workspace runs
 * at most `workspaceConcurrency` jobs of the lane at once (default: half the lane,
 * rounded up), even when the other slots are idle. So a job at the head of its
 * workspace's list waits for at most one start of every other workspace with
 * waiting work, and while fewer than lane/cap workspaces are busy a newcomer finds
 * a free slot at once. Retries re-enter the back of their workspace's list.
 */
import { UnrecoverableError } from "./unrecoverable-error.ts";

export interface QueuedJobRef {
  id: string;
  provider: string;
  /** Whose job it is: the unit of fairness inside a lane. */
  workspaceId: string;
}

export interface AttemptInfo {
  /** 1-based attempt number. */
  number: number;
  /** No retry follows this attempt: a transient failure now fails the job. */
  final: boolean;
}

/**
 * Runs one attempt. BullMQ's convention, on both queues: a thrown error is retried with
 * exponential backoff (unless the attempt is final); `UnrecoverableError` fails at once.
 */
export type JobProcessor = (jobId: string, attempt: AttemptInfo) => Promise<void>;

/** A final failure: no retry, whatever attempts are left. BullMQ recognises it by its name (unrecoverable-error.ts); the in-process runner too. */
export { UnrecoverableError };

/** Whether `err` ends the job's attempts (BullMQ also goes by the name, as an error may cross a realm). */
export function isUnrecoverable(err: unknown): boolean {
  return err instanceof UnrecoverableError || (err instanceof Error && err.name === "UnrecoverableError");
}

/** `err` as a final failure: its message, and the original as `cause` (logged with it). */
export function unrecoverable(err: unknown): UnrecoverableError {
  if (isUnrecoverable(err)) return err as UnrecoverableError;
  const final = new UnrecoverableError(err instanceof Error ? err.message : String(err));
  final.cause = err;
  return final;
}

export interface JobQueue {
  readonly kind: "inprocess" | "bullmq";
  enqueue(job: QueuedJobRef): Promise<void>;
  /** Whether the queue still holds the job (waiting, delayed or active); the reconciler re-enqueues the rest. */
  holds(job: QueuedJobRef): Promise<boolean>;
  /** Jobs per lane and state, for the queue-depth gauge (observability/metrics.ts). */
  depths?(lanes: readonly string[]): Promise<LaneDepth[]>;
  close(): Promise<void>;
}

export interface LaneDepth {
  lane: string;
  state: "waiting" | "active" | "delayed";
  count: number;
}

export const MAX_ATTEMPTS = 3;
export const BACKOFF_BASE_MS = 2000;

/** The per-workspace cap of a lane when none is configured: one workspace never holds every slot. */
export function defaultWorkspaceConcurrency(laneConcurrency: number): number {
  return Math.max(1, Math.ceil(laneConcurrency / 2));
}

export interface InProcessQueueOptions {
  processor: JobProcessor;
  /** Concurrent jobs per provider lane. */
  concurrency: number;
  /** Concurrent jobs per workspace inside one lane (default `defaultWorkspaceConcurrency(concurrency)`). */
  workspaceConcurrency?: number;
  maxAttempts?: number;
  backoffMs?: number;
  onError?: (jobId: string, err: unknown) => void;
}

interface WaitingJob {
  id: string;
  workspaceId: string;
  attempt: number;
}

interface Lane {
  running: number;
  runningByWorkspace: Map<string, number>;
  /** Insertion order is the round-robin ring: a workspace served moves to the back. */
  waitingByWorkspace: Map<string, WaitingJob[]>;
}

/** The embedded runner: per-provider lanes with bounded concurrency, fair across workspaces, retries with exponential backoff. */
export function createInProcessQueue(options: InProcessQueueOptions): JobQueue {
  const maxAttempts = options.maxAttempts ?? MAX_ATTEMPTS;
  const backoff = options.backoffMs ?? BACKOFF_BASE_MS;
  const workspaceCap = Math.min(options.concurrency, options.workspaceConcurrency ?? defaultWorkspaceConcurrency(options.concurrency));
  const lanes = new Map<string, Lane>();
  const held = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const laneOf = (provider: string) => {
    let lane = lanes.get(provider);
    if (!lane) lanes.set(provider, (lane = { running: 0, runningByWorkspace: new Map(), waitingByWorkspace: new Map() }));
    return lane;
  };

  const addWaiting = (lane: Lane, job: WaitingJob) => {
    const list = lane.waitingByWorkspace.get(job.workspaceId);
    if (list) list.push(job);
    else lane.waitingByWorkspace.set(job.workspaceId, [job]);
  };

  /** The first workspace in ring order that is under its cap gives its oldest job, then goes to the back of the ring. */
  const takeNext = (lane: Lane): WaitingJob | undefined => {
    for (const [workspaceId, list] of lane.waitingByWorkspace) {
      if ((lane.runningByWorkspace.get(workspaceId) ?? 0) >= workspaceCap) continue;
      const job = list.shift()!;
      lane.waitingByWorkspace.delete(workspaceId);
      if (list.length > 0) lane.waitingByWorkspace.set(workspaceId, list);
      return job;
    }
    return undefined;
  };

  const pump = (provider: string) => {
    const lane = laneOf(provider);
    while (!closed && lane.running < options.concurrency) {
      const next = takeNext(lane);
      if (!next) break;
      lane.running += 1;
      lane.runningByWorkspace.set(next.workspaceId, (lane.runningByWorkspace.get(next.workspaceId) ?? 0) + 1);
      const attempt = { number: next.attempt, final: next.attempt >= maxAttempts };
      options
        .processor(next.id, attempt)
        .then(
          () => held.delete(next.id),
          (err) => {
            if (!isUnrecoverable(err) && !attempt.final && !closed) {
              const timer = setTimeout(() => {
                timers.delete(timer);
                addWaiting(lane, { ...next, attempt: next.attempt + 1 });
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
          const left = (lane.runningByWorkspace.get(next.workspaceId) ?? 1) - 1;
          if (left > 0) lane.runningByWorkspace.set(next.workspaceId, left);
          else lane.runningByWorkspace.delete(next.workspaceId);
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
      addWaiting(laneOf(job.provider), { id: job.id, workspaceId: job.workspaceId, attempt: 1 });
      pump(job.provider);
    },
    async holds(job) {
      return held.has(job.id);
    },
    async depths(names) {
      // Retries waiting out their backoff sit in timers, not in a lane: they count as neither.
      return [...new Set([...names, ...lanes.keys()])].flatMap((lane): LaneDepth[] => {
        const l = lanes.get(lane);
        let waiting = 0;
        for (const list of l?.waitingByWorkspace.values() ?? []) waiting += list.length;
        return [
          { lane, state: "waiting", count: waiting },
          { lane, state: "active", count: l?.running ?? 0 },
        ];
      });
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
