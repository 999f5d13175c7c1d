/**
 * Idempotency-Key leases: an `in_progress` claim older than the lease is taken over
 * by one retry of the same request, never by two and never by a different request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, requestHash, type IdempotencyClaim } from "../../src/idempotency/records.ts";

let db: TestDatabase;
let workspaceId: string;
const LEASE_SECONDS = 30;
const hash = requestHash("createApiKey", "/v1/api-keys", { name: "x" });

beforeAll(async () => {
  db = await createTestDatabase();
  workspaceId = (await db.prisma.workspace.create({ data: { name: "lease" } })).id;
});
afterAll(() => db?.dispose());

/** A claim as a process that died after claiming would leave it. */
async function leftClaim(key: string, ageSeconds: number) {
  const createdAt = new Date(Date.now() - ageSeconds * 1000);
  await db.prisma.idempotencyRecord.create({
    data: { workspaceId, key, operationId: "createApiKey", requestHash: hash, createdAt, expiresAt: new Date(createdAt.getTime() + 24 * 3600_000) },
  });
}

const claim = (key: string, requestHashValue = hash) =>
  claimIdempotencyKey(db, { workspaceId, key, operationId: "createApiKey", hash: requestHashValue, leaseSeconds: LEASE_SECONDS });

describe("claimIdempotencyKey with a lease", () => {
  it("keeps a claim younger than the lease", async () => {
    await leftClaim("young", LEASE_SECONDS - 5);
    await expect(claim("young")).rejects.toMatchObject({ status: 409, code: "idempotency_in_progress" });
  });

  it("hands a stale claim to exactly one of several concurrent retries", async () => {
    await leftClaim("stale", LEASE_SECONDS + 5);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => claim("stale")));
    const claimed = outcomes.filter((o) => o.status === "fulfilled" && o.value.kind === "claimed");
    const refused = outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason as { code: string });
    expect(claimed).toHaveLength(1);
    expect(refused).toHaveLength(4);
    expect(refused.every((e) => e.code === "idempotency_in_progress")).toBe(true);
    // The winner's claim is fresh: no further takeover until its own lease runs out.
    await expect(claim("stale")).rejects.toMatchObject({ code: "idempotency_in_progress" });
    const winner = claimed[0] as PromiseFulfilledResult<IdempotencyClaim>;
    if (winner.value.kind !== "claimed") throw new Error("unreachable");
    expect(await completeIdempotencyKey(db, winner.value.token, { status: 201, body: { ok: true } })).toBe(true);
    await expect(claim("stale")).resolves.toEqual({ kind: "replay", response: { status: 201, body: { ok: true } } });
  });

  it("a request that outlived its lease neither overwrites nor releases the claim a retry took over", async () => {
    const first = await claim("slow");
    if (first.kind !== "claimed") throw new Error("expected a claim");
    // The first request stalls past its lease (its claim is made older), then a retry takes the key over.
    const stale = { ...first.token, claimedAt: new Date(Date.now() - (LEASE_SECONDS + 5) * 1000) };
    await db.prisma.idempotencyRecord.updateMany({ where: { workspaceId, key: "slow" }, data: { createdAt: stale.claimedAt } });
    const retry = await claim("slow");
    if (retry.kind !== "claimed") throw new Error("expected a takeover");
    // The stale request finishes late: neither its completion nor its release touches the retry's claim.
    expect(await completeIdempotencyKey(db, stale, { status: 201, body: { from: "stale" } })).toBe(false);
    await releaseIdempotencyKey(db, stale);
    await expect(claim("slow")).rejects.toMatchObject({ code: "idempotency_in_progress" });
    expect(await completeIdempotencyKey(db, retry.token, { status: 201, body: { from: "retry" } })).toBe(true);
    await expect(claim("slow")).resolves.toEqual({ kind: "replay", response: { status: 201, body: { from: "retry" } } });
  });

  it("never hands a stale claim to a different request", async () => {
    await leftClaim("other-body", LEASE_SECONDS * 10);
    await expect(claim("other-body", requestHash("createApiKey", "/v1/api-keys", { name: "y" }))).rejects.toMatchObject({ code: "idempotency_key_reused" });
  });
});
