/**
 * Carrying deliveries to their attempts: the database row is the truth (status, next attempt), and a
 * queue carries only delivery ids, like the job queue (ARCHITECTURE.md, Jobs).
 *   - Embedded (no REDIS_URL): an in-process runner, WEBHOOK_CONCURRENCY attempts at once, timers for the
 *     back-off.
 *   - Scaled out: a BullMQ queue `webhooks` (its own queue, beside the provider lanes) with the attempt's
 *     delay; `aeriox worker` processes consume it, every process may add to it. The BullMQ job id is
 *     `<delivery>-a<attempts so far>`, so adding the same attempt twice is a no-op.
 * A sweep finds pending deliveries that are due and schedules them: right after a transaction that wrote
 * some (`kickWebhookDeliveries`, kick.ts), and every few seconds, which also heals a schedule lost to a crash or a
 * Redis flush. The claim in delivery.ts keeps two processes from sending one attempt twice.
 */
import type { ConnectionOptions } from "bullmq";
import type { Database } from "../db/index.ts";
import { attemptDelivery, type WebhookServices } from "./delivery.ts";
import { dispatchersOf } from "./kick.ts";

export interface ScheduledDelivery {
  id: string;
  /** Attempts made so far. */
  attempts: number;
  at: Date;
}

export interface WebhookDispatcher {
  schedule(delivery: ScheduledDelivery): Promise<void>;
  /** Schedules every due pending delivery no process holds. */
  sweep(): Promise<void>;
  close(): Promise<void>;
}

const SWEEP_INTERVAL_MS = 5000;
const SWEEP_BATCH = 200;

const registry = dispatchersOf;

interface DueRow {
  id: string;
  attempts: number;
  next_attempt_at: Date | null;
}

function sweeper(services: WebhookServices, schedule: (d: ScheduledDelivery) => Promise<void>) {
  let running: Promise<void> | null = null;
  let again = false;
  const once = async () => {
    const due = await services.db.prisma.$queryRawUnsafe<DueRow[]>(
      `SELECT id::text, attempts, next_attempt_at FROM webhook_deliveries
        WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
          AND (locked_until IS NULL OR locked_until < now())
        ORDER BY next_attempt_at LIMIT ${SWEEP_BATCH}`,
    );
    for (const row of due) await schedule({ id: row.id, attempts: row.attempts, at: new Date() });
  };
  return (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await once();
        } while (again);
      } catch (err) {
        services.logger.warn({ err }, "webhook sweep failed; the next one retries");
      } finally {
        running = null;
      }
    })();
    return running;
  };
}

function register(db: Database, dispatcher: WebhookDispatcher, sweep: () => Promise<void>, periodic: boolean): WebhookDispatcher {
  let set = registry.get(db);
  if (!set) registry.set(db, (set = new Set()));
  set.add(dispatcher);
  const timer = periodic ? setInterval(() => void sweep(), SWEEP_INTERVAL_MS) : undefined;
  timer?.unref();
  const close = dispatcher.close.bind(dispatcher);
  dispatcher.close = async () => {
    clearInterval(timer);
    set.delete(dispatcher);
    if (set.size === 0 && registry.get(db) === set) registry.delete(db);
    await close();
  };
  return dispatcher;
}

export function createInProcessWebhookDispatcher(services: WebhookServices, options: { periodicSweep: boolean }): WebhookDispatcher {
  const scheduled = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const waiting: string[] = [];
  let running = 0;
  let closed = false;

  const pump = () => {
    while (!closed && running < services.config.WEBHOOK_CONCURRENCY && waiting.length > 0) {
      const id = waiting.shift()!;
      running += 1;
      attemptDelivery(services, id)
        .then(
          (outcome) => {
            scheduled.delete(id);
            if (outcome.next) void schedule({ id, attempts: outcome.next.attempts, at: outcome.next.at });
          },
          (err: unknown) => {
            scheduled.delete(id);
            services.logger.warn({ err, deliveryId: id }, "webhook attempt failed; the sweep retries it");
          },
        )
        .finally(() => {
          running -= 1;
          pump();
        });
    }
  };

  const schedule = async (d: ScheduledDelivery) => {
    if (closed || scheduled.has(d.id)) return;
    scheduled.add(d.id);
    const timer = setTimeout(() => {
      timers.delete(timer);
      waiting.push(d.id);
      pump();
    }, Math.max(0, d.at.getTime() - Date.now()));
    timer.unref();
    timers.add(timer);
  };

  const sweep = sweeper(services, schedule);
  return register(
    services.db,
    {
      schedule,
      sweep,
      async close() {
        closed = true;
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const deadline = Date.now() + services.config.WEBHOOK_TIMEOUT_MS + 1000;
        while (running > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      },
    },
    sweep,
    options.periodicSweep,
  );
}

export const WEBHOOK_QUEUE = "webhooks";

export async function createBullWebhookDispatcher(services: WebhookServices, options: { connection: ConnectionOptions; prefix: string; consume: boolean; periodicSweep: boolean }): Promise<WebhookDispatcher> {
  // Imported only with REDIS_URL (bootstrap.ts): the embedded default never loads BullMQ.
  const { Queue, Worker } = await import("bullmq");
  const queue = new Queue(WEBHOOK_QUEUE, { connection: { ...options.connection, maxRetriesPerRequest: 1, enableOfflineQueue: false }, prefix: options.prefix });
  queue.on("error", () => undefined); // surfaced by the failing add; the sweep re-schedules
  const schedule = async (d: ScheduledDelivery) => {
    await queue.add(
      "deliver",
      { deliveryId: d.id },
      { jobId: `${d.id}-a${d.attempts}`, delay: Math.max(0, d.at.getTime() - Date.now()), attempts: 1, removeOnComplete: true, removeOnFail: { count: 1000 } },
    );
  };
  const worker = options.consume
    ? new Worker<{ deliveryId: string }>(
        WEBHOOK_QUEUE,
        async (job) => {
          const outcome = await attemptDelivery(services, job.data.deliveryId);
          if (outcome.next) await schedule({ id: job.data.deliveryId, attempts: outcome.next.attempts, at: outcome.next.at }).catch(() => undefined);
        },
        { connection: options.connection, prefix: options.prefix, concurrency: services.config.WEBHOOK_CONCURRENCY },
      )
    : null;
  worker?.on("error", () => undefined);
  const sweep = sweeper(services, (d) => schedule(d).catch(() => undefined));
  return register(
    services.db,
    {
      schedule,
      sweep,
      async close() {
        await worker?.close();
        await queue.close();
      },
    },
    sweep,
    options.periodicSweep,
  );
}
