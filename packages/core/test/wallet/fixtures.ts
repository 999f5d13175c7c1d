import { randomUUID } from "node:crypto";
import { expect } from "vitest";
import type { Database } from "../../src/db/index.ts";
import { auditWallet } from "../../src/wallet/index.ts";
import { isApiError } from "../../src/errors.ts";

export const usd = (n: number): bigint => BigInt(Math.round(n * 1_000_000));

export async function newWorkspace(db: Database, name = "ws"): Promise<string> {
  return (await db.prisma.workspace.create({ data: { name } })).id;
}

export async function newApiKey(db: Database, workspaceId: string, dailySpendCapMicros: bigint | null = null): Promise<string> {
  const key = await db.prisma.apiKey.create({
    data: { workspaceId, prefix: "sk_live_test", keyHash: randomUUID(), scopes: ["generate"], dailySpendCapMicros },
  });
  return key.id;
}

/** sum(entries) == balance, reserved == open holds, available >= 0. */
export async function expectConsistent(db: Database, workspaceId: string): Promise<void> {
  const audit = await auditWallet(db, workspaceId);
  expect(audit.problems).toEqual([]);
}

/** Runs all, returns how many fulfilled and the error codes of the rejected. */
export async function settleAll<T>(promises: Array<Promise<T>>): Promise<{ ok: T[]; codes: string[] }> {
  const results = await Promise.allSettled(promises);
  const ok: T[] = [];
  const codes: string[] = [];
  for (const r of results) {
    if (r.status === "fulfilled") ok.push(r.value);
    else codes.push(isApiError(r.reason) ? r.reason.code : `unexpected: ${(r.reason as Error)?.message ?? r.reason}`);
  }
  return { ok, codes };
}
