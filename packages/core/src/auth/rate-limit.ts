/**
 * Requests per minute per credential, as a fixed one-minute window. In memory for
 * a single process; in Redis when REDIS_URL is set so every API process shares
 * the same counters.
 */
import type { Redis } from "ioredis";
import { ApiError } from "../errors.ts";
import type { Principal } from "./principal.ts";

export interface RateLimiter {
  /** Counts one request; throws 429 `rate_limited` with retry-after when over the limit. */
  consume(principal: Principal): Promise<void>;
}

function subjectOf(p: Principal): string {
  return p.apiKeyId ? `key:${p.apiKeyId}` : `oauth:${p.clientId ?? "?"}:${p.workspaceId}`;
}

function limited(limit: number, retryAfterSeconds: number): ApiError {
  return ApiError.tooManyRequests("rate_limited", `Rate limit of ${limit} requests per minute exceeded`, retryAfterSeconds);
}

export function createMemoryRateLimiter(limitPerMinute: number, now: () => number = Date.now): RateLimiter {
  const windows = new Map<string, { window: number; count: number }>();
  return {
    async consume(principal) {
      const t = now();
      const window = Math.floor(t / 60_000);
      const key = subjectOf(principal);
      const entry = windows.get(key);
      if (!entry || entry.window !== window) {
        if (windows.size > 100_000) windows.clear();
        windows.set(key, { window, count: 1 });
        return;
      }
      entry.count += 1;
      if (entry.count > limitPerMinute) throw limited(limitPerMinute, ((window + 1) * 60_000 - t) / 1000);
    },
  };
}

export function createRedisRateLimiter(redis: Redis, prefix: string, limitPerMinute: number): RateLimiter {
  return {
    async consume(principal) {
      const t = Date.now();
      const window = Math.floor(t / 60_000);
      const key = `${prefix}:ratelimit:${subjectOf(principal)}:${window}`;
      const results = await redis.multi().incr(key).expire(key, 61).exec();
      const count = Number(results?.[0]?.[1] ?? 0);
      if (count > limitPerMinute) throw limited(limitPerMinute, ((window + 1) * 60_000 - t) / 1000);
    },
  };
}
