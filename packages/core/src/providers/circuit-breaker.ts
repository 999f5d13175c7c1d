/**
 * One circuit breaker per provider, its state shared by every process of a deployment
 * (ARCHITECTURE.md, Jobs). Closed: calls pass. After `failureThreshold` retryable failures
 * (5xx, timeouts, network) within `windowMs` — counted across processes, a success resets
 * the count — it opens: calls fail fast with ProviderError(unavailable, code circuit_open),
 * submit and prisms answer 503 circuit_open and /v1/estimate lists `circuit_open`. After
 * `coolDownMs` it is half-open: one trial call passes, single-flight across processes (a
 * lease); success closes it, failure re-opens it for another cool-down. Client errors (4xx)
 * prove the provider is up and do not count.
 *
 * Where the state lives is a `BreakerStore`: in-process (the embedded default, one process)
 * or Redis (REDIS_URL: API servers never call providers, so a worker's failures must open the
 * circuit the API checks at submit). Each process keeps a local view — `isOpen()` is
 * synchronous and costs no round trip per submit — refreshed by the store: the Redis store
 * publishes every open/close on a pub/sub channel and re-reads the whole state on every
 * (re)connect and every BREAKER_RESYNC_MS, so a missed message is corrected within seconds.
 *
 * Why not cockatiel's CircuitBreakerPolicy (re-checked against 4.0.0): its breaker state and its
 * half-open gate live in the policy object of one process, and its `IBreaker` hooks are
 * synchronous (`failure()` returns whether to open), so the cross-process count (an atomic
 * script) cannot decide there; `initialState`/`toJSON` are a snapshot taken at construction, not
 * a live shared state; an open circuit heard from another process could only be forced with
 * `isolate()`, which has no cool-down and never goes half-open; and the half-open trial is
 * admitted inside `execute` with no async hook for our Redis lease. So the counts, the open
 * mark and the trial lease (the whole policy) would still be ours in Redis, and wrapping it
 * would add an adapter and a second source of truth for one state, not remove code.
 *
 * No module-level registry: the runtime creates one per process (`createBreakerRegistry`)
 * and passes it to `createProviders`.
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { ProviderError, isProviderError } from "./errors.ts";

export interface BreakerPolicy {
  failureThreshold: number;
  windowMs: number;
  coolDownMs: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = { failureThreshold: 5, windowMs: 60_000, coolDownMs: 30_000 };

export interface BreakerOptions extends Partial<BreakerPolicy> {
  /** Per-provider overrides of the policy above (config's BREAKER_<PROVIDER>_*). */
  perProvider?: Record<string, Partial<BreakerPolicy>>;
  /** Where the shared state lives; default: this process only. */
  store?: BreakerStore;
  now?: () => number;
  /** A store call failed (Redis down): the breaker keeps its last view and the call's outcome is not counted. */
  onStoreError?: (err: unknown) => void;
}

export type BreakerState = "closed" | "open" | "half_open";

/** The state behind every breaker of a deployment. `openedAt` is ms since the epoch, null when closed. */
export interface BreakerStore {
  /** Counts a failure; resolves to when the breaker is open since (opened now, or re-opened by a failed trial), or null while closed. */
  failure(name: string, policy: BreakerPolicy, now: number): Promise<number | null>;
  /** A success: closes the breaker, forgets its failures and frees the trial lease. */
  success(name: string): Promise<void>;
  /** Takes the half-open trial lease for `leaseMs`; false when any caller of the deployment holds it. */
  acquireTrial(name: string, leaseMs: number, now: number): Promise<boolean>;
  /** Called on every change seen, from this process or another. */
  onChange(listener: (name: string, openedAt: number | null) => void): void;
  close(): Promise<void>;
}

const circuitOpen = (name: string) =>
  new ProviderError("unavailable", `Provider ${name} is temporarily unavailable (circuit open after repeated failures)`, {
    code: "circuit_open",
    retryable: true,
  });

export class CircuitBreaker {
  /** This process's view of the shared state. */
  private openedAt: number | null = null;
  /** A trial of this process is running (the store's lease keeps other processes out). */
  private trialInFlight = false;
  private readonly store: BreakerStore;
  private readonly now: () => number;
  private readonly onStoreError: (err: unknown) => void;

  constructor(
    readonly name: string,
    readonly policy: BreakerPolicy,
    options: Pick<BreakerOptions, "store" | "now" | "onStoreError"> = {},
  ) {
    this.store = options.store ?? createMemoryBreakerStore();
    this.now = options.now ?? Date.now;
    this.onStoreError = options.onStoreError ?? (() => undefined);
  }

  get state(): BreakerState {
    if (this.openedAt === null) return "closed";
    return this.now() - this.openedAt >= this.policy.coolDownMs ? "half_open" : "open";
  }

  /** True when a call now would be refused (open, or half-open with this process's trial running). No I/O. */
  isOpen(): boolean {
    const s = this.state;
    return s === "open" || (s === "half_open" && this.trialInFlight);
  }

  /** The shared state changed (seen through the store). */
  observe(openedAt: number | null): void {
    this.openedAt = openedAt;
  }

  /** Runs fn through the breaker; fails fast with circuit_open when it may not. */
  async exec<T>(fn: () => Promise<T>): Promise<T> {
    if (this.isOpen()) throw circuitOpen(this.name);
    const trial = this.state === "half_open";
    if (trial) {
      // Set before any await: a second call of this process sees the trial at once.
      this.trialInFlight = true;
      // A trial that has not answered within a cool-down is taken as lost (its process died): another may go.
      const granted = await this.store.acquireTrial(this.name, this.policy.coolDownMs, this.now()).catch((err: unknown) => {
        this.onStoreError(err);
        return true; // store unreachable: this process's own single-flight still holds
      });
      if (!granted) {
        this.trialInFlight = false;
        throw circuitOpen(this.name);
      }
    }
    try {
      let result: T;
      try {
        result = await fn();
      } catch (err) {
        if (countsAsFailure(err)) await this.recordFailure();
        else await this.recordSuccess();
        throw err;
      }
      await this.recordSuccess();
      return result;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  /**
   * A success resets the shared count (a store round trip: Redis with REDIS_URL). Successes that
   * overlap share resets: while one is in flight, the successes that come meanwhile all wait for
   * ONE more, sent when it answers. So every success still waits for a reset sent after it (a
   * failure counted before it is forgotten, as with a reset each), and a busy lane sends at most
   * two at a time instead of one per call.
   */
  recordSuccess(): Promise<void> {
    if (this.nextReset) return this.nextReset;
    if (this.resetting) {
      const next = this.resetting.then(() => {
        this.nextReset = undefined;
        return this.sendReset();
      });
      this.nextReset = next;
      return next;
    }
    return this.sendReset();
  }

  /** The reset sent and not yet answered, and the one queued behind it (see recordSuccess). */
  private resetting: Promise<void> | undefined;
  private nextReset: Promise<void> | undefined;

  private sendReset(): Promise<void> {
    const sent = (async () => {
      try {
        await this.store.success(this.name);
        this.openedAt = null;
      } catch (err) {
        this.onStoreError(err);
      }
    })();
    this.resetting = sent;
    // Registered before any success can queue behind it, so it runs first when `sent` settles.
    void sent.then(() => {
      if (this.resetting === sent) this.resetting = undefined;
    });
    return sent;
  }

  async recordFailure(): Promise<void> {
    try {
      this.openedAt = await this.store.failure(this.name, this.policy, this.now());
    } catch (err) {
      this.onStoreError(err);
    }
  }
}

/** Retryable provider failures count; our own aborts (code "aborted") and client errors do not. */
function countsAsFailure(err: unknown): boolean {
  if (!isProviderError(err)) return true;
  return err.retryable && err.code !== "aborted" && err.code !== "circuit_open";
}

export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly store: BreakerStore;

  constructor(private readonly options: BreakerOptions = {}) {
    this.store = options.store ?? createMemoryBreakerStore();
    this.store.onChange((name, openedAt) => this.breakerFor(name).observe(openedAt));
  }

  policyFor(providerName: string): BreakerPolicy {
    const { failureThreshold, windowMs, coolDownMs } = this.options;
    const base = { ...DEFAULT_BREAKER_POLICY, ...definedOnly({ failureThreshold, windowMs, coolDownMs }) };
    return { ...base, ...definedOnly(this.options.perProvider?.[providerName] ?? {}) };
  }

  breakerFor(providerName: string): CircuitBreaker {
    let b = this.breakers.get(providerName);
    if (!b) {
      b = new CircuitBreaker(providerName, this.policyFor(providerName), { store: this.store, ...definedOnly({ now: this.options.now, onStoreError: this.options.onStoreError }) });
      this.breakers.set(providerName, b);
    }
    return b;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The state of one process (the embedded default, and unit tests). */
export function createMemoryBreakerStore(): BreakerStore {
  const failures = new Map<string, number[]>();
  const opened = new Map<string, number>();
  const trials = new Map<string, number>(); // lease end
  const listeners: Array<(name: string, openedAt: number | null) => void> = [];
  const emit = (name: string, openedAt: number | null) => listeners.forEach((l) => l(name, openedAt));
  return {
    async failure(name, policy, now) {
      const since = opened.get(name);
      if (since !== undefined) {
        if (now - since < policy.coolDownMs) return since;
        // Half-open and failing (the trial, or a call that began before the breaker opened): another cool-down.
        opened.set(name, now);
        trials.delete(name);
        emit(name, now);
        return now;
      }
      const recent = (failures.get(name) ?? []).filter((t) => now - t < policy.windowMs);
      recent.push(now);
      if (recent.length < policy.failureThreshold) {
        failures.set(name, recent);
        return null;
      }
      failures.delete(name);
      opened.set(name, now);
      emit(name, now);
      return now;
    },
    async success(name) {
      failures.delete(name);
      trials.delete(name);
      if (opened.delete(name)) emit(name, null);
    },
    async acquireTrial(name, leaseMs, now) {
      if ((trials.get(name) ?? 0) > now) return false;
      trials.set(name, now + leaseMs);
      return true;
    },
    onChange(listener) {
      listeners.push(listener);
    },
    async close() {},
  };
}

/** How often a Redis-backed view is re-read whole, in case a pub/sub message was missed. */
export const BREAKER_RESYNC_MS = 5_000;

// Keys: `<prefix>:breaker:open` (hash provider → opened-at ms), `<prefix>:breaker:<provider>:failures`
// (sorted set of failure times, expiring with the window), `<prefix>:breaker:<provider>:trial` (the
// half-open lease, SET NX PX). Every change is published on `<prefix>:breaker:changes` by the script
// that makes it, so a change and its announcement cannot come apart.

/** KEYS: open hash, failures, trial. ARGV: provider, now, windowMs, threshold, coolDownMs, member, channel. → opened-at or nil. */
const FAILURE_SCRIPT = `
local opened = redis.call('HGET', KEYS[1], ARGV[1])
local now = tonumber(ARGV[2])
if opened then
  if now - tonumber(opened) < tonumber(ARGV[5]) then return opened end
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('DEL', KEYS[3])
  redis.call('PUBLISH', ARGV[7], ARGV[1] .. ' ' .. ARGV[2])
  return ARGV[2]
end
redis.call('ZADD', KEYS[2], now, ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if redis.call('ZCARD', KEYS[2]) < tonumber(ARGV[4]) then return false end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PUBLISH', ARGV[7], ARGV[1] .. ' ' .. ARGV[2])
return ARGV[2]`;

/** KEYS: open hash, failures, trial. ARGV: provider, channel. */
const SUCCESS_SCRIPT = `
redis.call('DEL', KEYS[2], KEYS[3])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[1] .. ' closed') end
return 1`;

type ScriptRedis = Redis & {
  breakerFailure(open: string, failures: string, trial: string, name: string, now: number, windowMs: number, threshold: number, coolDownMs: number, member: string, channel: string): Promise<string | null>;
  breakerSuccess(open: string, failures: string, trial: string, name: string, channel: string): Promise<number>;
};

/**
 * The state of a deployment, in Redis. `redis` is the runtime's connection (commands); a
 * duplicate subscribes to the change channel. Resolves once the current state is read, so a
 * process starting while a breaker is open refuses at once.
 */
export async function createRedisBreakerStore(redis: Redis, prefix: string, options: { resyncMs?: number; onError?: (err: unknown) => void } = {}): Promise<BreakerStore> {
  const onError = options.onError ?? (() => undefined);
  const client = redis as ScriptRedis;
  if (typeof client.breakerFailure !== "function") {
    client.defineCommand("breakerFailure", { numberOfKeys: 3, lua: FAILURE_SCRIPT });
    client.defineCommand("breakerSuccess", { numberOfKeys: 3, lua: SUCCESS_SCRIPT });
  }
  const openKey = `${prefix}:breaker:open`;
  const channel = `${prefix}:breaker:changes`;
  const keysOf = (name: string) => [openKey, `${prefix}:breaker:${name}:failures`, `${prefix}:breaker:${name}:trial`] as const;
  const listeners: Array<(name: string, openedAt: number | null) => void> = [];
  // The last state seen of each provider: replayed to a listener that registers after the first read.
  const seen = new Map<string, number | null>();
  const emit = (name: string, openedAt: number | null) => {
    seen.set(name, openedAt);
    listeners.forEach((l) => l(name, openedAt));
  };

  const resync = async () => {
    const all = await redis.hgetall(openKey);
    for (const name of seen.keys()) if (!(name in all)) emit(name, null);
    for (const [name, at] of Object.entries(all)) emit(name, Number(at));
  };
  // Subscriber mode needs a connection of its own; it queues commands while (re)connecting and
  // resubscribes by itself. Subscribed before the first read, so no change falls in between.
  const sub = redis.duplicate({ lazyConnect: true, enableOfflineQueue: true, maxRetriesPerRequest: null });
  sub.on("error", onError);
  sub.on("message", (_channel: string, message: string) => {
    const [name, at] = message.split(" ");
    if (name) emit(name, at === "closed" ? null : Number(at));
  });
  sub.on("ready", () => void resync().catch(onError)); // after a reconnect: what was missed meanwhile
  await sub.connect();
  await sub.subscribe(channel);
  await resync();
  const timer = setInterval(() => void resync().catch(onError), options.resyncMs ?? BREAKER_RESYNC_MS);
  timer.unref();

  return {
    async failure(name, policy, now) {
      const [open, failures, trial] = keysOf(name);
      const at = await client.breakerFailure(open, failures, trial, name, now, policy.windowMs, policy.failureThreshold, policy.coolDownMs, `${now}:${randomUUID()}`, channel);
      return at === null ? null : Number(at);
    },
    async success(name) {
      const [open, failures, trial] = keysOf(name);
      await client.breakerSuccess(open, failures, trial, name, channel);
    },
    async acquireTrial(name, leaseMs) {
      return (await redis.set(keysOf(name)[2], String(process.pid), "PX", leaseMs, "NX")) === "OK";
    },
    onChange(listener) {
      listeners.push(listener);
      for (const [name, openedAt] of seen) listener(name, openedAt);
    },
    async close() {
      clearInterval(timer);
      await sub.quit().catch(() => sub.disconnect());
    },
  };
}

/** The breaker settings of config (BREAKER_*), per provider. */
export function breakerOptionsFrom(config: BreakerConfig): BreakerOptions {
  const perProvider: Record<string, Partial<BreakerPolicy>> = {};
  for (const [key, value] of Object.entries(config as object)) {
    const m = /^BREAKER_([A-Z]+)_(FAILURE_THRESHOLD|COOLDOWN_MS)$/.exec(key);
    if (!m || typeof value !== "number") continue;
    const provider = m[1]!.toLowerCase();
    perProvider[provider] = { ...perProvider[provider], ...(m[2] === "FAILURE_THRESHOLD" ? { failureThreshold: value } : { coolDownMs: value }) };
  }
  return { failureThreshold: config.BREAKER_FAILURE_THRESHOLD, windowMs: config.BREAKER_WINDOW_MS, coolDownMs: config.BREAKER_COOLDOWN_MS, perProvider };
}

export interface BreakerConfig {
  BREAKER_FAILURE_THRESHOLD: number;
  BREAKER_WINDOW_MS: number;
  BREAKER_COOLDOWN_MS: number;
  // and BREAKER_<PROVIDER>_FAILURE_THRESHOLD / BREAKER_<PROVIDER>_COOLDOWN_MS, read by name
}

/** The runtime's registry: shared through Redis when the deployment has one, else this process's own. */
export async function createBreakerRegistry(
  config: BreakerConfig & { REDIS_PREFIX: string },
  redis: Redis | null,
  options: Pick<BreakerOptions, "onStoreError" | "now"> & { overrides?: BreakerOptions } = {},
): Promise<BreakerRegistry> {
  const store = redis ? await createRedisBreakerStore(redis, config.REDIS_PREFIX, definedOnly({ onError: options.onStoreError })) : createMemoryBreakerStore();
  return new BreakerRegistry({ ...breakerOptionsFrom(config), ...definedOnly({ now: options.now, onStoreError: options.onStoreError }), ...options.overrides, store });
}
