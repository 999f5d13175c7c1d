/** The rate limiter's per-address counting: which addresses share a budget, and buckets kept apart. */
import { describe, expect, it } from "vitest";
import { addressSubject, createMemoryRateLimiter } from "../../src/auth/rate-limit.ts";

describe("addressSubject", () => {
  it.each([
    ["1.2.3.4", "1.2.3.4"],
    ["::ffff:1.2.3.4", "1.2.3.4"],
    ["::ffff:102:304", "1.2.3.4"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::9", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002:ffff::", "2001:db8:1:2::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
  ])("%s counts as %s", (address, subject) => {
    expect(addressSubject(address)).toBe(subject);
  });

  it("keeps different /64s and unparseable values apart", () => {
    expect(addressSubject("2001:db8:1:3::1")).not.toBe(addressSubject("2001:db8:1:2::1"));
    expect(addressSubject("not-an-address")).toBe("other:not-an-address");
  });
});

describe("createMemoryRateLimiter.consumeAddress", () => {
  it("counts each bucket and address on its own, and starts again in the next minute", async () => {
    let now = 120_000;
    const limiter = createMemoryRateLimiter(1000, () => now);
    const take = (bucket: string, address: string) => limiter.consumeAddress(bucket, address, 2);
    await take("oauth", "203.0.113.7");
    await take("oauth", "::ffff:203.0.113.7");
    await expect(take("oauth", "203.0.113.7")).rejects.toMatchObject({ status: 429, code: "rate_limited", headers: { "retry-after": "60" } });
    await expect(take("public", "203.0.113.7")).resolves.toBeUndefined();
    await expect(take("oauth", "198.51.100.1")).resolves.toBeUndefined();
    now += 30_000;
    await expect(take("oauth", "203.0.113.7")).rejects.toMatchObject({ headers: { "retry-after": "30" } });
    now += 30_000;
    await expect(take("oauth", "203.0.113.7")).resolves.toBeUndefined();
  });
});
