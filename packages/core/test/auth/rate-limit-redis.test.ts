/**
 * The Redis rate limiter reserves shares of a window instead of one round trip per
 * request: every process together still never admits more than the limit.
 */
import { describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createRedisRateLimiter, redisLeaseShare } from "../../src/auth/rate-limit.ts";
import type { Principal } from "../../src/auth/principal.ts";

/** The part of ioredis the limiter uses, over one shared map (one Redis for every "process"). */
function fakeRedis() {
  const counters = new Map<string, number>();
  let roundTrips = 0;
  const redis = {
    multi() {
      const ops: Array<() => [null, number]> = [];
      const chain = {
        incrby(key: string, by: number) {
          ops.push(() => {
            counters.set(key, (counters.get(key) ?? 0) + by);
            return [null, counters.get(key)!];
          });
          return chain;
        },
        expire() {
          ops.push(() => [null, 1]);
          return chain;
        },
        async exec() {
          roundTrips += 1;
          await new Promise((r) => setTimeout(r, 1));
          return ops.map((op) => op());
        },
      };
      return chain;
    },
  };
  return { redis: redis as unknown as Redis, roundTrips: () => roundTrips, counters };
}

const principal = { apiKeyId: "k1", workspaceId: "w1", scopes: ["read"] } as unknown as Principal;

async function admitted(take: () => Promise<void>, n: number): Promise<number> {
  const results = await Promise.allSettled(Array.from({ length: n }, take));
  return results.filter((r) => r.status === "fulfilled").length;
}

describe("createRedisRateLimiter", () => {
  it("counts every request in Redis at small limits (a share of 1)", async () => {
    expect(redisLeaseShare(60)).toBe(1);
    const fake = fakeRedis();
    const limiter = createRedisRateLimiter(fake.redis, "t", 5, () => 120_000);
    expect(await admitted(() => limiter.consume(principal), 8)).toBe(5);
    await expect(limiter.consume(principal)).rejects.toMatchObject({ status: 429, code: "rate_limited", headers: { "retry-after": "60" } });
  });

  it("admits exactly the limit across processes at large limits, with far fewer round trips than requests", async () => {
    const limit = 6_400;
    const share = redisLeaseShare(limit);
    expect(share).toBe(64);
    const fake = fakeRedis();
    const processes = [0, 1, 2].map(() => createRedisRateLimiter(fake.redis, "t", limit, () => 120_000));
    let total = 0;
    for (let round = 0; round < 40; round++) {
      for (const limiter of processes) total += await admitted(() => limiter.consume(principal), 100);
    }
    expect(total).toBeLessThanOrEqual(limit);
    // What a process reserved and did not spend is lost to the others: less than a share each.
    expect(total).toBeGreaterThan(limit - processes.length * share);
    expect(fake.roundTrips()).toBeLessThan(total / 10);
  });

  it("starts again in the next window", async () => {
    let now = 120_000;
    const fake = fakeRedis();
    const limiter = createRedisRateLimiter(fake.redis, "t", 2, () => now);
    await limiter.consumeAddress("public", "203.0.113.7", 2);
    await limiter.consumeAddress("public", "203.0.113.7", 2);
    now += 30_000;
    await expect(limiter.consumeAddress("public", "203.0.113.7", 2)).rejects.toMatchObject({ headers: { "retry-after": "30" } });
    now += 30_000;
    await expect(limiter.consumeAddress("public", "203.0.113.7", 2)).resolves.toBeUndefined();
  });
});
