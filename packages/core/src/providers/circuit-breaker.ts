/**
 * One circuit breaker per provider. Closed: calls pass. After `failureThreshold`
 * consecutive retryable failures (5xx, timeouts, network) within `windowMs` it opens:
 * calls fail fast with ProviderError(unavailable, code circuit_open), the engine answers
 * 503 circuit_open and /v1/estimate lists `circuit_open`. After `coolDownMs` it is
 * half-open: one trial call passes; success closes it, failure re-opens it.
 * Client errors (4xx) prove the provider is up and do not count.
 */
import { ProviderError, isProviderError } from "./errors.ts";

export interface BreakerOptions {
  failureThreshold?: number;
  windowMs?: number;
  coolDownMs?: number;
  now?: () => number;
}

export type BreakerState = "closed" | "open" | "half_open";

export class CircuitBreaker {
  private failures: number[] = [];
  private openedAt: number | null = null;
  private trialInFlight = false;
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly coolDownMs: number;
  private readonly now: () => number;

  constructor(readonly name: string, options: BreakerOptions = {}) {
    this.threshold = options.failureThreshold ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.coolDownMs = options.coolDownMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    if (this.openedAt === null) return "closed";
    return this.now() - this.openedAt >= this.coolDownMs ? "half_open" : "open";
  }

  /** True when a call now would be refused (open, or half-open with its one trial running). */
  isOpen(): boolean {
    const s = this.state;
    return s === "open" || (s === "half_open" && this.trialInFlight);
  }

  /** Runs fn through the breaker; fails fast with circuit_open when it may not. */
  async exec<T>(fn: () => Promise<T>): Promise<T> {
    if (this.isOpen()) {
      throw new ProviderError("unavailable", `Provider ${this.name} is temporarily unavailable (circuit open after repeated failures)`, {
        code: "circuit_open",
        retryable: true,
      });
    }
    const trial = this.state === "half_open";
    if (trial) this.trialInFlight = true;
    try {
      const result = await fn();
      this.recordSuccess();
      return result;
    } catch (err) {
      if (countsAsFailure(err)) this.recordFailure();
      else this.recordSuccess();
      throw err;
    } finally {
      if (trial) this.trialInFlight = false;
    }
  }

  recordSuccess(): void {
    this.failures = [];
    this.openedAt = null;
  }

  recordFailure(): void {
    const now = this.now();
    if (this.state === "half_open") {
      this.openedAt = now; // trial failed: another full cool-down
      return;
    }
    this.failures = this.failures.filter((t) => now - t < this.windowMs);
    this.failures.push(now);
    if (this.failures.length >= this.threshold) this.openedAt = now;
  }
}

/** Retryable provider failures count; our own aborts (code "aborted") and client errors do not. */
function countsAsFailure(err: unknown): boolean {
  if (!isProviderError(err)) return true;
  return err.retryable && err.code !== "aborted" && err.code !== "circuit_open";
}

export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker>();
  constructor(private readonly options: BreakerOptions = {}) {}
  breakerFor(providerName: string): CircuitBreaker {
    let b = this.breakers.get(providerName);
    if (!b) this.breakers.set(providerName, (b = new CircuitBreaker(providerName, this.options)));
    return b;
  }
}

/** The process-wide breakers; createProviders uses them unless given another registry (tests). */
export const defaultBreakers = new BreakerRegistry();

export function breakerFor(providerName: string): CircuitBreaker {
  return defaultBreakers.breakerFor(providerName);
}
