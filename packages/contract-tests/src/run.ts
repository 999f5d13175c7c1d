/** One contract-test run against a deployment: flows, negative requests, fuzz, cleanup, reports. */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Budget } from "./budget.ts";
import { Client } from "./client.ts";
import { runFlows, type FlowContext } from "./flows.ts";
import { runFuzz } from "./fuzz.ts";
import { runNegative } from "./negative.ts";
import { coverageOf, junit, markdown, type Coverage } from "./report.ts";
import { loadSpec } from "./spec.ts";
import type { Exchange } from "./client.ts";

export interface RunOptions {
  baseUrl: string;
  apiKey: string;
  /** A key of another workspace: its ids must not be reachable. */
  apiKey2?: string;
  budgetUsd?: number;
  reportDir?: string;
  specFile?: string;
  /** Only these operations: tags or operationIds, comma-separated. */
  only?: string;
  fuzz?: number;
  seed?: number;
  allowPaidModels?: boolean;
  /** Per-request timeout (ms). */
  timeoutMs?: number;
  /** Skip the stateful flows / the negative requests (for focused runs). */
  flows?: boolean;
  negative?: boolean;
  log?: (line: string) => void;
}

export interface RunResult {
  ok: boolean;
  violations: number;
  coverage: Coverage;
  exchanges: Exchange[];
  /** Operations not exercised, with the reason when the suite knows it. */
  notExercised: Array<{ operationId: string; reason: string }>;
  spentUsd: number;
  durationMs: number;
  markdown: string;
  junit: string;
  reportFiles: string[];
}

export async function runContractTests(options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const spec = loadSpec(options.specFile);
  const client = new Client(spec, options.baseUrl, options.apiKey, options.timeoutMs ?? 30_000);
  const budget = new Budget(options.budgetUsd ?? 1);
  const only = options.only ? new Set(options.only.split(",").map((s) => s.trim().toLowerCase()).filter(Boolean)) : null;
  const included = (operationId: string) => !only || only.has(operationId.toLowerCase()) || (spec.byId.get(operationId)?.tags ?? []).some((t) => only.has(t.toLowerCase()));
  const ctx: FlowContext = { client, budget, key: options.apiKey, key2: options.apiKey2, allowPaidModels: options.allowPaidModels === true, included, log, ids: {}, cleanup: [], notRun: new Map() };

  // Whatever a request created (in any phase) is removed at the end.
  client.onCreated = (operationId, json) => trackCreated(ctx, operationId, json);

  try {
    if (options.flows !== false) {
      log("flows: stateful valid requests");
      await runFlows(ctx);
    }
    if (options.negative !== false) {
      log("negative: requests the schemas refuse");
      await runNegative(ctx, budget);
    }
    if ((options.fuzz ?? 0) > 0) {
      log(`fuzz: ${options.fuzz} requests`);
      await runFuzz(ctx, budget, options.fuzz!, options.seed ?? 424242);
    }
  } finally {
    await cleanup(ctx);
  }

  const coverage = coverageOf(spec, client.exchanges, included, ctx.notRun);
  const durationMs = Date.now() - started;
  const byKind: Record<string, number> = {};
  for (const e of client.exchanges) if (e.method) byKind[e.kind] = (byKind[e.kind] ?? 0) + 1;
  const summary = {
    baseUrl: options.baseUrl,
    spec: spec.file,
    durationMs,
    requests: client.exchanges.filter((e) => e.method).length,
    byKind,
    spentUsd: budget.spentUsd,
    budgetUsd: budget.limitUsd,
    budgetSkipped: budget.skipped,
    fuzz: { requested: options.fuzz ?? 0, sent: byKind.fuzz ?? 0, seed: options.seed ?? 424242 },
    cleanup: ctx.cleanupReport ?? [],
  };
  const md = markdown(coverage, client.exchanges, summary);
  const xml = junit(coverage, client.exchanges, durationMs);
  const reportFiles: string[] = [];
  if (options.reportDir) {
    mkdirSync(options.reportDir, { recursive: true });
    for (const [name, text] of [["contract-report.md", md], ["junit.xml", xml]] as const) {
      const file = path.join(options.reportDir, name);
      writeFileSync(file, text);
      reportFiles.push(file);
    }
  }
  const violations = client.exchanges.reduce((n, e) => n + e.violations.length, 0);
  return {
    ok: violations === 0,
    violations,
    coverage,
    exchanges: client.exchanges,
    notExercised: coverage.operations.filter((o) => !o.exercised).map((o) => ({ operationId: o.operationId, reason: o.notRunReason ?? (o.requests ? "no conforming response" : "no request made") })),
    spentUsd: budget.spentUsd,
    durationMs,
    markdown: md,
    junit: xml,
    reportFiles,
  };
}

function trackCreated(ctx: FlowContext, operationId: string, json: unknown): void {
  const body = (json ?? {}) as Record<string, unknown>;
  const add = (what: string, run: () => Promise<unknown>) => {
    if (!ctx.cleanup.some((c) => c.what === what)) ctx.cleanup.push({ what, run: async () => void (await run()) });
  };
  const client = ctx.client;
  const card = (body.card ?? body.node) as { id?: string } | undefined;
  if ((operationId === "createCard" || operationId === "createNode") && typeof card?.id === "string") {
    const id = card.id;
    add(`card ${id}`, () => client.call("deleteCard", { label: "cleanup: delete", pathParams: { id }, expect: [200, 404] }));
  }
  if (operationId === "createApiKey" && typeof body.key_id === "string") {
    const id = body.key_id;
    add(`key ${id}`, () => client.call("revokeApiKey", { label: "cleanup: revoke", pathParams: { id }, expect: [200, 404, 409] }));
  }
  if (operationId === "rotateApiKey" && typeof body.new_key_id === "string") {
    const id = body.new_key_id;
    add(`key ${id}`, () => client.call("revokeApiKey", { label: "cleanup: revoke", pathParams: { id }, expect: [200, 404, 409] }));
  }
  if (operationId === "createCharacter" && typeof body.character_id === "string") {
    const id = body.character_id;
    add(`character ${id}`, () => client.call("deleteCharacter", { label: "cleanup: delete", pathParams: { id }, expect: [204, 404] }));
  }
}

async function cleanup(ctx: FlowContext): Promise<void> {
  const report: string[] = [];
  const seen = new Set<string>();
  for (const step of [...ctx.cleanup].reverse()) {
    const what = step.what.replace(/^node /, "card ");
    if (seen.has(what)) continue;
    seen.add(what);
    try {
      await step.run();
      report.push(`${step.what}: removed`);
    } catch (err) {
      report.push(`${step.what}: not removed (${(err as Error).message})`);
    }
  }
  ctx.cleanupReport = report;
}
