/**
 * BullMQ transport (REDIS_URL set): one queue per provider lane, named
 * `jobs-<provider>`, carrying `{ jobId, workspaceId }` with the job id as BullMQ's
 * id (so enqueueing twice is a no-op). Workers retry transient failures with
 * exponential backoff, and a job whose worker died (stalled) is picked up again;
 * BullMQ's own final failure lands in `onFinalFailure` so the job is failed and refunded.
 *
 * Fair scheduling (ARCHITECTURE.md, Jobs) with open-source BullMQ only (groups are
 * BullMQ Pro). Per lane and workspace, Redis keeps:
 *   - a "ticket": the one job of the workspace that sits in the lane's BullMQ queue
 *     waiting to be taken, and a backlog list of the workspace's other job ids;
 *   - a lease set of the jobs the workspace is running in the lane, each with an
 *     expiry that the running worker renews (a dead worker's slot lapses);
 *   - a parked set of its jobs sent back to `delayed` because it was at its cap.
 * BullMQ's wait list is FIFO and holds at most one ticket per workspace, so it is
 * a round-robin ring: when a worker takes a ticket it sends the workspace's next
 * backlogged id to the back of the list. A worker taking a job whose workspace is
 * at its cap (`workspaceConcurrency`, counted across every worker process) moves it
 * back with `moveToDelayed` + `DelayedError` (no attempt is spent); the workspace's
 * next finishing job promotes it at once, and the delay is only the fallback.
 * Bound: a ticket waits for at most one start of every other workspace with
 * waiting work (plus jobs coming back for a retry), and one workspace never holds
 * more than its cap of a lane's slots. The queue still carries only ids; a ticket
 * or backlog lost to a crash is found by `holds` (the reconciler re-enqueues it).
 */
import { DelayedError, Job, Queue, Worker, type Job as BullJob, type ConnectionOptions } from "bullmq";
import { Redis } from "ioredis";
import { providerDescriptor } from "../providers/descriptors.ts";
import { BACKOFF_BASE_MS, MAX_ATTEMPTS, defaultWorkspaceConcurrency, isUnrecoverable, type JobProcessor, type JobQueue, type LaneDepth, type QueuedJobRef } from "./queue.ts";

/** A lane of a name the descriptor table does not know. */
const UNKNOWN_LANE_CONCURRENCY = 4;

/** Concurrent jobs of one worker process in a provider's lane (providers/descriptors.ts, scaled). */
export function laneConcurrency(provider: string, concurrencyScale = 1): number {
  return Math.max(1, Math.round((providerDescriptor(provider)?.laneConcurrency ?? UNKNOWN_LANE_CONCURRENCY) * concurrencyScale));
}

/** How long a job sent back for its workspace's cap waits if no finishing job promotes it first. */
const PARKED_DELAY_MS = 1000;
const DEFAULT_LEASE_MS = 30_000;

interface LaneJobData {
  jobId: string;
  /** Absent on jobs enqueued before fair scheduling: those run unscheduled. */
  workspaceId?: string;
}

const HOLDING_STATES = ["waiting", "delayed", "active", "prioritized", "waiting-children"];

export function connectionOf(redisUrl: string): ConnectionOptions {
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

// Every script touches only the keys of one lane and workspace.
/**
 * The submit path runs this once per job, so it is O(1): backlog membership is a set
 * beside the list (LPOS would scan a busy workspace's whole backlog), and whether the
 * current ticket is still in the queue — two more round trips — is asked at most once
 * per TICKET_CHECK_MS per workspace and lane (a lost ticket only appears after a crash,
 * and the reconciler covers the rest).
 * KEYS: ticket, backlog, backlog set, ticket-check mark. ARGV: id, check interval ms.
 * → {1} the caller dispatches id; {0, ticket, check} id waits behind that ticket, check = 1 when its liveness is due.
 */
const ENQUEUE_SCRIPT = `
local ticket = redis.call('GET', KEYS[1])
if not ticket or ticket == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1])
  if redis.call('SREM', KEYS[3], ARGV[1]) == 1 then redis.call('LREM', KEYS[2], 0, ARGV[1]) end
  return {1}
end
if redis.call('SADD', KEYS[3], ARGV[1]) == 1 then redis.call('RPUSH', KEYS[2], ARGV[1]) end
local due = redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[2])
if due then return {0, ticket, 1} end
return {0, ticket, 0}`;

/** KEYS: ticket, backlog, backlog set. ARGV: lost ticket, id. Takes the place of a ticket the queue no longer holds. → 1 if id is the ticket now. */
const REPLACE_TICKET_SCRIPT = `
local ticket = redis.call('GET', KEYS[1])
if ticket and ticket ~= ARGV[1] and ticket ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SREM', KEYS[3], ARGV[2])
redis.call('LREM', KEYS[2], 0, ARGV[2])
return 1`;

/** How often a submit may check that its workspace's ticket is still in the queue. */
const TICKET_CHECK_MS = 10_000;

/**
 * A worker taking a job: the workspace's slot in the lane (its leases, on Redis's clock, so workers'
 * clocks need not agree), and — only when it was had — the ticket advanced: the workspace's next
 * backlogged id becomes the ticket (the caller dispatches it). One round trip per job.
 * KEYS: leases, ticket, backlog, backlog set. ARGV: id, leaseMs, cap.
 * → {0} at the cap (nothing changed); {1, next id or false} slot held, the ticket advanced.
 */
const ACQUIRE_AND_ADVANCE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return {0} end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local ticket = redis.call('GET', KEYS[2])
if ticket and ticket ~= ARGV[1] then return {1, false} end
local nextId = redis.call('LPOP', KEYS[3])
if nextId then
  redis.call('SREM', KEYS[4], nextId)
  redis.call('SET', KEYS[2], nextId)
else
  redis.call('DEL', KEYS[2])
end
return {1, nextId}`;

/** KEYS: leases. ARGV: id, leaseMs. */
const RENEW_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** KEYS: leases, parked. ARGV: id. → the oldest parked id of the workspace, to promote into the freed slot. */
const RELEASE_SCRIPT = `
redis.call('ZREM', KEYS[1], ARGV[1])
local parked = redis.call('ZPOPMIN', KEYS[2])
return parked[1]`;

/** The fairness scripts as commands of the client (ioredis `defineCommand`: EVALSHA, the script's text sent only when Redis lacks it). */
const LANE_SCRIPTS = {
  laneEnqueue: { numberOfKeys: 4, lua: ENQUEUE_SCRIPT },
  laneReplaceTicket: { numberOfKeys: 3, lua: REPLACE_TICKET_SCRIPT },
  laneAcquireAndAdvance: { numberOfKeys: 4, lua: ACQUIRE_AND_ADVANCE_SCRIPT },
  laneRenew: { numberOfKeys: 1, lua: RENEW_SCRIPT },
  laneRelease: { numberOfKeys: 2, lua: RELEASE_SCRIPT },
} as const;

type LaneRedis = Redis & { [name in keyof typeof LANE_SCRIPTS]: (...keysThenArgs: Array<string | number>) => Promise<unknown> };

/** The lane queues and the fairness keys, shared by the enqueueing side and the workers. */
class FairLanes {
  private readonly queues = new Map<string, Queue>();
  private readonly connection: ConnectionOptions;
  /** Fails fast while Redis is down, like the queues (→ 503 queue_unavailable at submit). */
  private readonly client: LaneRedis;
  private connecting: Promise<void> | undefined;

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    this.connection = connectionOf(redisUrl);
    const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, connectTimeout: 5000 });
    for (const [name, definition] of Object.entries(LANE_SCRIPTS)) client.defineCommand(name, definition);
    client.on("error", () => undefined); // surfaced by the failing call
    this.client = client as LaneRedis;
  }

  queueOf(provider: string): Queue {
    let queue = this.queues.get(provider);
    if (!queue) {
      queue = new Queue(laneName(provider), { connection: { ...this.connection, maxRetriesPerRequest: 1, enableOfflineQueue: false }, prefix: this.prefix });
      queue.on("error", () => undefined); // surfaced by the failing call (→ 503 queue_unavailable)
      this.queues.set(provider, queue);
    }
    return queue;
  }

  keysOf(provider: string, workspaceId: string) {
    const base = `${this.prefix}:fair:${provider}:${workspaceId}`;
    return { ticket: `${base}:ticket`, backlog: `${base}:backlog`, backlogSet: `${base}:backlog-set`, ticketCheck: `${base}:ticket-check`, leases: `${base}:leases`, parked: `${base}:parked` };
  }

  private async redis(): Promise<LaneRedis> {
    if (this.client.status === "wait") {
      this.connecting ??= this.client.connect().finally(() => (this.connecting = undefined));
    }
    await this.connecting;
    return this.client;
  }

  async add(provider: string, data: LaneJobData): Promise<void> {
    await this.queueOf(provider).add("run", data, {
      jobId: data.jobId,
      attempts: MAX_ATTEMPTS,
      backoff: { type: "exponential", delay: BACKOFF_BASE_MS },
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    });
  }

  async bullHolds(provider: string, id: string): Promise<boolean> {
    const found = await this.queueOf(provider).getJob(id);
    return !!found && HOLDING_STATES.includes(await found.getState());
  }

  async enqueue(job: QueuedJobRef): Promise<void> {
    const keys = this.keysOf(job.provider, job.workspaceId);
    const redis = await this.redis();
    const [dispatch, ticket, checkDue] = (await redis.laneEnqueue(keys.ticket, keys.backlog, keys.backlogSet, keys.ticketCheck, job.id, TICKET_CHECK_MS)) as [number, string?, number?];
    if (dispatch === 1) return this.add(job.provider, { jobId: job.id, workspaceId: job.workspaceId });
    // A ticket the queue lost (a crash between taking a ticket and dispatching the next) would stall the backlog.
    if (ticket && checkDue === 1 && !(await this.bullHolds(job.provider, ticket))) {
      const replaced = await redis.laneReplaceTicket(keys.ticket, keys.backlog, keys.backlogSet, ticket, job.id);
      if (replaced === 1) await this.add(job.provider, { jobId: job.id, workspaceId: job.workspaceId });
    }
  }

  async holds(job: QueuedJobRef): Promise<boolean> {
    if (await this.bullHolds(job.provider, job.id)) return true;
    const keys = this.keysOf(job.provider, job.workspaceId);
    const redis = await this.redis();
    if (!(await redis.sismember(keys.backlogSet, job.id))) return false;
    // Backlogged: held only while a live ticket will bring it forward.
    const ticket = await redis.get(keys.ticket);
    return !!ticket && ticket !== job.id && (await this.bullHolds(job.provider, ticket));
  }

  /**
   * Takes a slot of the workspace (at most `cap`) and, when had, advances its ticket, in one round trip. Resolves to whether the slot
   * is held; the next ticket's dispatch (a BullMQ add) failing is reported, not thrown: the
   * reconciler re-enqueues a backlogged job whose ticket is lost.
   */
  async acquireAndAdvance(provider: string, workspaceId: string, id: string, leaseMs: number, cap: number, onAddError: (err: unknown) => void): Promise<boolean> {
    const keys = this.keysOf(provider, workspaceId);
    const redis = await this.redis();
    const [acquired, nextId] = (await redis.laneAcquireAndAdvance(keys.leases, keys.ticket, keys.backlog, keys.backlogSet, id, leaseMs, cap)) as [number, (string | null)?];
    if (acquired !== 1) return false;
    if (nextId) await this.add(provider, { jobId: nextId, workspaceId }).catch(onAddError);
    return true;
  }

  async renew(provider: string, workspaceId: string, id: string, leaseMs: number): Promise<void> {
    await (await this.redis()).laneRenew(this.keysOf(provider, workspaceId).leases, id, leaseMs);
  }

  async park(provider: string, workspaceId: string, id: string): Promise<void> {
    const keys = this.keysOf(provider, workspaceId);
    const redis = await this.redis();
    await redis.zadd(keys.parked, Date.now(), id);
    await redis.pexpire(keys.parked, 24 * 3600_000);
  }

  /** Frees the slot and promotes the workspace's oldest parked job into it. */
  async release(provider: string, workspaceId: string, id: string): Promise<void> {
    const keys = this.keysOf(provider, workspaceId);
    const parkedId = (await (await this.redis()).laneRelease(keys.leases, keys.parked, id)) as string | null;
    if (!parkedId) return;
    const parked = await Job.fromId(this.queueOf(provider), parkedId);
    // Already back in the queue (its delay ran out) or gone: nothing to promote.
    if (parked && (await parked.isDelayed())) await parked.promote().catch(() => undefined);
  }

  /** BullMQ's counts per lane: its wait list holds one ticket per workspace with waiting work (the backlog is not counted). */
  async depths(names: readonly string[]): Promise<LaneDepth[]> {
    const perLane = await Promise.all(
      names.map(async (lane) => {
        const c = await this.queueOf(lane).getJobCounts("waiting", "prioritized", "active", "delayed");
        return [
          { lane, state: "waiting", count: (c.waiting ?? 0) + (c.prioritized ?? 0) },
          { lane, state: "active", count: c.active ?? 0 },
          { lane, state: "delayed", count: c.delayed ?? 0 },
        ] satisfies LaneDepth[];
      }),
    );
    return perLane.flat();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

export function createBullQueue(options: { redisUrl: string; prefix: string }): JobQueue {
  const lanes = new FairLanes(options.redisUrl, options.prefix);
  return {
    kind: "bullmq",
    enqueue: (job) => lanes.enqueue(job),
    holds: (job) => lanes.holds(job),
    depths: (names) => lanes.depths(names),
    close: () => lanes.close(),
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
  /** Jobs one workspace runs at once in a lane, across every worker (default: half of this worker's lane, rounded up). */
  workspaceConcurrency?: number;
  /** Lock/stall timings; tests shorten them to observe crash recovery quickly. The lock is also a workspace slot's lease. */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Fairness bookkeeping that failed without failing the job (the reconciler or the lease heals it). */
  onSchedulingError?: (jobId: string, err: unknown) => void;
}

export function startBullWorkers(options: BullWorkersOptions): { close(): Promise<void> } {
  const connection = connectionOf(options.redisUrl);
  const lanes = new FairLanes(options.redisUrl, options.prefix);
  const leaseMs = options.lockDurationMs ?? DEFAULT_LEASE_MS;
  const reportError = (jobId: string) => (err: unknown) => options.onSchedulingError?.(jobId, err);

  const workers = options.providers.map((provider) => {
    const concurrency = laneConcurrency(provider, options.concurrencyScale ?? 1);
    const workspaceCap = Math.min(concurrency, options.workspaceConcurrency ?? defaultWorkspaceConcurrency(concurrency));
    const worker = new Worker(
      laneName(provider),
      async (job: BullJob<LaneJobData>, token?: string) => {
        const { jobId, workspaceId } = job.data;
        if (workspaceId) {
          let acquired: boolean;
          try {
            // Taking the slot and advancing the ticket are one script (one round trip per job).
            acquired = await lanes.acquireAndAdvance(provider, workspaceId, jobId, leaseMs, workspaceCap, reportError(jobId));
          } catch (err) {
            throw new Error(`fair scheduling unavailable: ${(err as Error).message}`, { cause: err }); // retried
          }
          if (!acquired) {
            await job.moveToDelayed(Date.now() + PARKED_DELAY_MS, token).catch((err: Error) => {
              throw new Error(`could not send back a job over its workspace's cap: ${err.message}`, { cause: err }); // retried
            });
            await lanes.park(provider, workspaceId, jobId).catch(reportError(jobId));
            throw new DelayedError();
          }
        }
        const renewal = workspaceId ? setInterval(() => void lanes.renew(provider, workspaceId, jobId, leaseMs).catch(reportError(jobId)), leaseMs / 3) : undefined;
        try {
          const number = job.attemptsMade + 1;
          await options.processor(jobId, { number, final: number >= (job.opts.attempts ?? MAX_ATTEMPTS) });
        } finally {
          clearInterval(renewal);
          if (workspaceId) await lanes.release(provider, workspaceId, jobId).catch(reportError(jobId));
        }
      },
      {
        connection,
        prefix: options.prefix,
        concurrency,
        maxStalledCount: 1,
        ...(options.lockDurationMs ? { lockDuration: options.lockDurationMs } : {}),
        ...(options.stalledIntervalMs ? { stalledInterval: options.stalledIntervalMs } : {}),
      },
    );
    worker.on("failed", (job, err) => {
      if (!job) return;
      const exhausted = isUnrecoverable(err) || job.attemptsMade >= (job.opts.attempts ?? MAX_ATTEMPTS);
      if (exhausted) void options.onFinalFailure(job.data.jobId, err.message).catch(() => undefined);
    });
    worker.on("error", () => undefined);
    return worker;
  });
  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await lanes.close();
    },
  };
}
