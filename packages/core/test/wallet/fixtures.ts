/**
 * Core's shared test fixtures: workspaces, keys and wallet checks, and what accepting a job
 * needs (a priced catalog entry, the submit services, a principal) for the tests that accept
 * jobs through `submitJob` without running them (test/jobs).
 */
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { expect } from "vitest";
import type { Database } from "../../src/db/index.ts";
import { auditWallet } from "../../src/wallet/index.ts";
import { isApiError } from "../../src/errors.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { submitJob, type SubmitServices } from "../../src/jobs/submit.ts";
import type { JobQueue } from "../../src/jobs/queue.ts";
import type { Principal } from "../../src/auth/principal.ts";
import type { CatalogEntry } from "../../src/pricing/catalog.ts";

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

/** A catalog entry to accept jobs with: local/image at 100 micros an image. */
export const ENTRY: CatalogEntry = {
  operationId: "image.local/image",
  model: "local/image",
  providerModel: "local/image",
  provider: "local",
  kind: "image",
  unit: "image",
  priceMicros: 100n,
  priceWithAudioMicros: null,
  minPriceMicros: 100n,
  defaultDurationS: null,
  maxResolution: "1024x1024",
  maxDurationS: null,
  supportsAudio: false,
  typicalLatencyS: 1,
  notes: null,
};

export const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined, debug: () => undefined };

/** What `submitJob` needs: every provider usable, and a queue that runs nothing (`enqueue` sees each job accepted). */
export function submitServices(db: Database, options: { config?: Partial<Config>; enqueue?: JobQueue["enqueue"] } = {}): SubmitServices {
  return {
    db,
    config: { ...loadConfig({ NODE_ENV: "test", DATA_DIR: tmpdir() }), ...options.config },
    providers: { isCircuitOpen: () => false, unavailableReason: () => null } as unknown as SubmitServices["providers"],
    queue: { kind: "inprocess", enqueue: options.enqueue ?? (async () => undefined), holds: async () => true, close: async () => undefined },
    logger: quiet as unknown as SubmitServices["logger"],
  };
}

export function principal(workspaceId: string, apiKeyId: string | null = null, dailySpendCapMicros: bigint | null = null): Principal {
  return { kind: "api_key", workspaceId, apiKeyId, keyPrefix: null, scopes: ["generate"], dailySpendCapMicros, clientId: null };
}

/** Accepts an image job of ENTRY (`queued`, its hold held); `prompt` stands for the job's input. */
export function submit(services: SubmitServices, who: Principal, priceMicros = ENTRY.priceMicros, prompt = "a fox") {
  return submitJob(services, { principal: who, type: "image", entry: ENTRY, input: { model: ENTRY.model, prompt }, priceMicros, model: ENTRY.model });
}
