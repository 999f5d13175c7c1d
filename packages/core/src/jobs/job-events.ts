/**
 * "This job ended": announced by every terminal transition (completion and failure in the
 * processor, cancel, the reconciler's deadline, a worker's final failure). How a process
 * running a job learns that a cancel (or the reconciler's deadline) settled it elsewhere,
 * and how a request waiting for a job (`Prefer: wait`, generation/wait.ts) learns it ended, without re-reading the job's row every half second
 * (which was one query per running job per 500 ms). With REDIS_URL it is Redis pub/sub
 * on one channel, so an API process's cancel reaches every worker; without it, an
 * in-process emitter (the embedded runner runs jobs where they are cancelled).
 * Best effort by design: the runner keeps a slow poll of the row as the fallback
 * (process.ts), and the database row stays the truth.
 */
import type { Redis } from "ioredis";

export interface JobEndSignal {
  /** Announces that `jobId` reached a terminal state; never throws. */
  announce(jobId: string): Promise<void>;
  /** Calls `onEnd` once `jobId` is announced; returns the unsubscribe. */
  watch(jobId: string, onEnd: () => void): () => void;
  /** Listeners registered in this process, over every job (a leak shows as a count that never drops). */
  listenerCount(): number;
  close(): Promise<void>;
}

function localWatchers() {
  const watchers = new Map<string, Set<() => void>>();
  return {
    fire(jobId: string) {
      for (const onEnd of watchers.get(jobId) ?? []) onEnd();
    },
    watch(jobId: string, onEnd: () => void): () => void {
      let set = watchers.get(jobId);
      if (!set) watchers.set(jobId, (set = new Set()));
      set.add(onEnd);
      return () => {
        set.delete(onEnd);
        if (set.size === 0 && watchers.get(jobId) === set) watchers.delete(jobId);
      };
    },
    get size() {
      let listeners = 0;
      for (const set of watchers.values()) listeners += set.size;
      return listeners;
    },
  };
}

export function createInProcessJobEndSignal(): JobEndSignal {
  const local = localWatchers();
  return {
    async announce(jobId) {
      local.fire(jobId);
    },
    watch: local.watch,
    listenerCount: () => local.size,
    async close() {},
  };
}

/**
 * `publisher` is the runtime's Redis client (commands); the subscriber is a connection of
 * its own (a subscribed connection takes no other commands), opened on the first watch.
 */
export async function createRedisJobEndSignal(publisher: Redis, redisUrl: string, prefix: string): Promise<JobEndSignal> {
  // Imported only with REDIS_URL (bootstrap.ts): the embedded default never loads ioredis.
  const { Redis: RedisClient } = await import("ioredis");
  const channel = `${prefix}:job-ended`;
  const local = localWatchers();
  let subscriber: Redis | undefined;

  const subscribe = () => {
    subscriber = new RedisClient(redisUrl, { maxRetriesPerRequest: null, lazyConnect: false });
    subscriber.on("error", () => undefined); // reconnects by itself; the fallback poll covers the gap
    subscriber.on("message", (_channel: string, jobId: string) => local.fire(jobId));
    subscriber.subscribe(channel).catch(() => undefined);
  };

  return {
    async announce(jobId) {
      local.fire(jobId);
      await publisher.publish(channel, jobId).then(
        () => undefined,
        () => undefined,
      );
    },
    watch(jobId, onEnd) {
      if (!subscriber) subscribe();
      return local.watch(jobId, onEnd);
    },
    listenerCount: () => local.size,
    async close() {
      await subscriber?.quit().catch(() => subscriber?.disconnect());
    },
  };
}
