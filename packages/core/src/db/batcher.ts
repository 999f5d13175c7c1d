/**
 * Statement batching by lane, for the hot statements (ARCHITECTURE.md, Money, "Hot path"):
 * while a lane's statement is in flight, the calls that arrive for it queue; when it returns,
 * all of them (up to `limit`) go in the next statement. A lone call goes at once: nothing waits
 * on a timer. A statement only ever carries calls made before it was sent, so each call sees
 * the database as it was at least when the call was made.
 *
 * If a batched statement fails, each of its calls runs alone, so one bad call fails only itself
 * (a batched write must be one transaction, so that a failed one wrote nothing).
 *
 * Used by the group accept (jobs/accept-batch.ts) and the job read (jobs/serialize.ts).
 */
import type { Database } from "./index.ts";

interface Pending<Item, Result> {
  item: Item;
  resolve(result: Result): void;
  reject(err: unknown): void;
}

export interface LaneBatcherOptions<Item, Result> {
  /** Most calls in one statement. */
  limit: number;
  /** Runs one call alone. */
  one(db: Database, item: Item): Promise<Result>;
  /** Runs several calls in one statement: one result per item, in the items' order. */
  many(db: Database, items: readonly Item[]): Promise<Result[]>;
  /** A batch runs sorted by this (stably: equal keys keep their arrival order); arrival order without it. */
  orderBy?(item: Item): string;
}

export interface LaneBatcher<Item, Result> {
  /** Runs `item`; calls with the same `lane` (on the same database) may share a statement. */
  run(db: Database, lane: string, item: Item): Promise<Result>;
}

export function createLaneBatcher<Item, Result>(options: LaneBatcherOptions<Item, Result>): LaneBatcher<Item, Result> {
  // Per database (tests open several), per lane: the calls waiting for the statement in flight.
  const lanes = new WeakMap<Database, Map<string, Array<Pending<Item, Result>>>>();

  async function runAlone(db: Database, call: Pending<Item, Result>): Promise<void> {
    try {
      call.resolve(await options.one(db, call.item));
    } catch (err) {
      call.reject(err);
    }
  }

  async function flush(db: Database, lane: string, pending: Array<Pending<Item, Result>>): Promise<void> {
    try {
      while (pending.length > 0) {
        const batch = pending.splice(0, options.limit);
        const key = options.orderBy;
        if (key) batch.sort((a, b) => compare(key(a.item), key(b.item)));
        if (batch.length === 1) {
          await runAlone(db, batch[0]!);
          continue;
        }
        let results: Result[];
        try {
          results = await options.many(db, batch.map((call) => call.item));
        } catch {
          for (const call of batch) await runAlone(db, call);
          continue;
        }
        batch.forEach((call, i) => call.resolve(results[i]!));
      }
    } finally {
      lanes.get(db)?.delete(lane);
    }
  }

  return {
    run(db, lane, item) {
      let byLane = lanes.get(db);
      if (!byLane) lanes.set(db, (byLane = new Map()));
      let pending = byLane.get(lane);
      const inFlight = pending !== undefined;
      if (!pending) byLane.set(lane, (pending = []));
      const done = new Promise<Result>((resolve, reject) => pending.push({ item, resolve, reject }));
      if (!inFlight) void flush(db, lane, pending);
      return done;
    },
  };
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
