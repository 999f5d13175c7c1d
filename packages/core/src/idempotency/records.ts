/**
 * Idempotency-Key (docs/ARCHITECTURE.md, Errors and inputs): the same key with the same body
 * within 24 h returns the first response without doing the work again; a
 * different body → 409. Only successful responses are kept: a failed attempt
 * (402, 429, 5xx…) leaves nothing behind, so a retry with the same key does the work.
 *
 * A claim is `in_progress` while its request runs. One still `in_progress` after
 * the lease (IDEMPOTENCY_LEASE_SECONDS, longer than any request takes) was left by
 * a process that died mid-request: a retry of the same request takes it over, by a
 * compare-and-set on the claim's time (`created_at`), so two retries cannot both.
 */
import { createHash } from "node:crypto";
import type { Database } from "../db/index.ts";
import { ApiError } from "../errors.ts";

const TTL_MS = 24 * 3600 * 1000;
export const DEFAULT_LEASE_SECONDS = 60;

export interface StoredResponse {
  status: number;
  body: unknown;
}

/** Held while the request runs: completing or releasing it only acts on this claim, not on a takeover's. */
export interface ClaimToken {
  workspaceId: string;
  key: string;
  claimedAt: Date;
}

export type IdempotencyClaim = { kind: "claimed"; token: ClaimToken } | { kind: "replay"; response: StoredResponse };

/** Canonical JSON (sorted keys) so `{a,b}` and `{b,a}` are the same request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value as object)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

export function requestHash(operationId: string, path: string, body: unknown): string {
  return createHash("sha256").update(`${operationId}\n${path}\n${canonical(body ?? null)}`).digest("hex");
}

function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === "P2002" || /unique|duplicate key/i.test(e?.message ?? "");
}

export interface ClaimInput {
  workspaceId: string;
  key: string;
  operationId: string;
  hash: string;
  leaseSeconds?: number;
}

export async function claimIdempotencyKey(db: Database, input: ClaimInput): Promise<IdempotencyClaim> {
  const leaseMs = (input.leaseSeconds ?? DEFAULT_LEASE_SECONDS) * 1000;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      // The claim time is set here (not by the database) so the token matches it to the millisecond.
      const claimedAt = new Date();
      await db.prisma.idempotencyRecord.create({
        data: { workspaceId: input.workspaceId, key: input.key, operationId: input.operationId, requestHash: input.hash, createdAt: claimedAt, expiresAt: new Date(claimedAt.getTime() + TTL_MS) },
      });
      return { kind: "claimed", token: { workspaceId: input.workspaceId, key: input.key, claimedAt } };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
    const existing = await db.prisma.idempotencyRecord.findUnique({ where: { workspaceId_key: { workspaceId: input.workspaceId, key: input.key } } });
    if (!existing) continue; // released meanwhile: claim again
    if (existing.expiresAt.getTime() <= Date.now()) {
      await db.prisma.idempotencyRecord.deleteMany({ where: { workspaceId: input.workspaceId, key: input.key, expiresAt: existing.expiresAt } });
      continue;
    }
    if (existing.requestHash !== input.hash || existing.operationId !== input.operationId) {
      throw ApiError.conflict("idempotency_key_reused", "This Idempotency-Key was used with a different request; use a new key for a new request", { operation_id: existing.operationId });
    }
    if (existing.state === "in_progress") {
      if (existing.createdAt.getTime() + leaseMs > Date.now()) {
        throw ApiError.conflict("idempotency_in_progress", "A request with this Idempotency-Key is still being processed; retry shortly");
      }
      const claimedAt = new Date();
      const { count } = await db.prisma.idempotencyRecord.updateMany({
        where: { workspaceId: input.workspaceId, key: input.key, state: "in_progress", createdAt: existing.createdAt },
        data: { createdAt: claimedAt, expiresAt: new Date(claimedAt.getTime() + TTL_MS) },
      });
      if (count === 1) return { kind: "claimed", token: { workspaceId: input.workspaceId, key: input.key, claimedAt } };
      continue; // another retry took it over, or it finished meanwhile: look again
    }
    return { kind: "replay", response: { status: existing.responseStatus ?? 200, body: existing.responseBody } };
  }
  throw ApiError.conflict("idempotency_in_progress", "A request with this Idempotency-Key is being processed; retry shortly");
}

/**
 * Stores the response under this claim. Returns false when the claim is no longer ours
 * (the request outlived the lease and a retry took it over): the retry's outcome stands.
 */
export async function completeIdempotencyKey(db: Database, token: ClaimToken, response: StoredResponse): Promise<boolean> {
  const { count } = await db.prisma.idempotencyRecord.updateMany({
    where: { workspaceId: token.workspaceId, key: token.key, state: "in_progress", createdAt: token.claimedAt },
    data: { state: "completed", responseStatus: response.status, responseBody: response.body as object },
  });
  return count === 1;
}

/** Gives the key back after a failed attempt; a takeover's claim is left alone. */
export async function releaseIdempotencyKey(db: Database, token: ClaimToken): Promise<void> {
  await db.prisma.idempotencyRecord.deleteMany({ where: { workspaceId: token.workspaceId, key: token.key, state: "in_progress", createdAt: token.claimedAt } });
}
