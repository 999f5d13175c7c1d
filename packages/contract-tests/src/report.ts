/** The coverage matrix (operation × documented status), the Markdown summary and JUnit XML. */
import { CHECK_NAMES, type CheckName } from "./check.ts";
import type { Exchange } from "./client.ts";
import type { LoadedSpec } from "./spec.ts";

export interface OperationCoverage {
  operationId: string;
  method: string;
  path: string;
  /** Documented status → requests that got it. */
  statuses: Map<string, number>;
  /** Statuses received that are not documented. */
  undocumented: Map<number, number>;
  checks: Set<CheckName>;
  requests: number;
  /** A request got a response that passed every check. */
  exercised: boolean;
  violations: number;
  notRunReason: string | undefined;
}

export interface Coverage {
  operations: OperationCoverage[];
  documentedStatuses: number;
  exercisedStatuses: number;
  exercisedOperations: number;
  inScopeOperations: number;
}

export function coverageOf(spec: LoadedSpec, exchanges: Exchange[], inScope: (operationId: string) => boolean, notRun: Map<string, string>): Coverage {
  const operations: OperationCoverage[] = [];
  for (const op of spec.operations) {
    if (!inScope(op.operationId)) continue;
    const mine = exchanges.filter((e) => e.operationId === op.operationId);
    const statuses = new Map([...op.responses.keys()].map((s) => [s, 0]));
    const undocumented = new Map<number, number>();
    const checks = new Set<CheckName>();
    for (const e of mine) {
      e.ran.forEach((c) => checks.add(c));
      if (e.status === null) continue;
      const key = statuses.has(String(e.status)) ? String(e.status) : statuses.has(`${String(e.status)[0]}XX`) ? `${String(e.status)[0]}XX` : statuses.has("default") ? "default" : null;
      if (key) statuses.set(key, statuses.get(key)! + 1);
      else undocumented.set(e.status, (undocumented.get(e.status) ?? 0) + 1);
    }
    operations.push({
      operationId: op.operationId,
      method: op.method.toUpperCase(),
      path: op.path,
      statuses,
      undocumented,
      checks,
      requests: mine.filter((e) => e.status !== null).length,
      exercised: mine.some((e) => e.status !== null && e.violations.length === 0),
      violations: mine.reduce((n, e) => n + e.violations.length, 0),
      notRunReason: notRun.get(op.operationId),
    });
  }
  const documentedStatuses = operations.reduce((n, o) => n + o.statuses.size, 0);
  const exercisedStatuses = operations.reduce((n, o) => n + [...o.statuses.values()].filter((c) => c > 0).length, 0);
  return { operations, documentedStatuses, exercisedStatuses, exercisedOperations: operations.filter((o) => o.exercised).length, inScopeOperations: operations.length };
}

export interface Summary {
  baseUrl: string;
  spec: string;
  durationMs: number;
  requests: number;
  byKind: Record<string, number>;
  spentUsd: number;
  budgetUsd: number;
  budgetSkipped: string[];
  fuzz: { requested: number; sent: number; seed: number };
  cleanup: string[];
}

const CHECK_ABBR: Record<CheckName, string> = { status: "S", "content-type": "C", schema: "B", "error-shape": "E", headers: "H", "no-5xx": "5", "no-stack": "T" };

export function markdown(coverage: Coverage, exchanges: Exchange[], summary: Summary): string {
  const violations = exchanges.filter((e) => e.violations.length);
  const lines: string[] = [];
  lines.push(`# AERIOX contract test: ${violations.length === 0 ? "PASS" : "FAIL"}`, "");
  lines.push(`- Deployment: ${summary.baseUrl}`, `- Spec: ${summary.spec}`);
  lines.push(`- ${summary.requests} requests (${Object.entries(summary.byKind).map(([k, n]) => `${k} ${n}`).join(", ")}) in ${(summary.durationMs / 1000).toFixed(1)} s`);
  lines.push(`- Operations exercised: ${coverage.exercisedOperations}/${coverage.inScopeOperations}; documented statuses exercised: ${coverage.exercisedStatuses}/${coverage.documentedStatuses}`);
  lines.push(`- Estimated spend: $${summary.spentUsd.toFixed(6)} of $${summary.budgetUsd} budget${summary.budgetSkipped.length ? `; ${summary.budgetSkipped.length} call(s) not made to stay within it` : ""}`);
  if (summary.fuzz.requested) lines.push(`- Fuzz: ${summary.fuzz.sent}/${summary.fuzz.requested} requests, seed ${summary.fuzz.seed}`);
  lines.push(`- Violations: ${violations.reduce((n, e) => n + e.violations.length, 0)} in ${violations.length} response(s)`, "");
  lines.push("## Coverage matrix", "", `Checks: ${CHECK_NAMES.map((c) => `${CHECK_ABBR[c]} = ${c}`).join(", ")}. A status cell is the number of responses with it (· = documented, not exercised).`, "");
  const allStatuses = [...new Set(coverage.operations.flatMap((o) => [...o.statuses.keys()]))].sort();
  lines.push(`| operation | ${allStatuses.join(" | ")} | undocumented | checks | result |`);
  lines.push(`|---|${allStatuses.map(() => "---:").join("|")}|---|---|---|`);
  for (const o of coverage.operations) {
    const cells = allStatuses.map((s) => (o.statuses.has(s) ? (o.statuses.get(s)! > 0 ? String(o.statuses.get(s)) : "·") : ""));
    const undocumented = [...o.undocumented.entries()].map(([s, n]) => `${s}×${n}`).join(" ");
    const checks = CHECK_NAMES.filter((c) => o.checks.has(c)).map((c) => CHECK_ABBR[c]).join("");
    const result = o.violations ? `✗ ${o.violations}` : o.exercised ? "✓" : `not exercised${o.notRunReason ? `: ${o.notRunReason}` : ""}`;
    lines.push(`| \`${o.operationId}\` | ${cells.join(" | ")} | ${undocumented} | ${checks} | ${result} |`);
  }
  if (violations.length) {
    lines.push("", "## Violations", "");
    for (const e of violations.slice(0, 200)) {
      for (const v of e.violations) lines.push(`- \`${e.operationId}\` ${e.kind}: ${e.label} — ${e.method} ${e.url.slice(0, 160)} → ${e.status ?? "no response"}${e.requestId ? ` (x-request-id ${e.requestId})` : ""}: **${v.check}**: ${v.message.slice(0, 400)}`);
    }
    if (violations.length > 200) lines.push(`- … ${violations.length - 200} more`);
  }
  if (summary.budgetSkipped.length) lines.push("", "## Not made (budget)", "", ...summary.budgetSkipped.slice(0, 50).map((s) => `- ${s}`));
  if (summary.cleanup.length) lines.push("", "## Cleanup", "", ...summary.cleanup.map((s) => `- ${s}`));
  return lines.join("\n") + "\n";
}

// Characters XML 1.0 cannot carry.
// eslint-disable-next-line no-control-regex -- removing exactly these characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g;
const xml = (s: string) => s.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c]!).replace(CONTROL, "");

/** One test suite per operation, one test case per request; an unexercised operation is a skipped case. */
export function junit(coverage: Coverage, exchanges: Exchange[], durationMs: number): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const total = exchanges.length + coverage.operations.filter((o) => !o.exercised).length;
  const failures = exchanges.filter((e) => e.violations.length).length;
  out.push(`<testsuites name="aeriox-contract-test" tests="${total}" failures="${failures}" time="${(durationMs / 1000).toFixed(3)}">`);
  for (const o of coverage.operations) {
    const mine = exchanges.filter((e) => e.operationId === o.operationId);
    const failed = mine.filter((e) => e.violations.length).length;
    const skipped = o.exercised ? 0 : 1;
    out.push(`  <testsuite name="${xml(o.operationId)}" tests="${mine.length + skipped}" failures="${failed}" skipped="${skipped}" time="${(mine.reduce((n, e) => n + e.ms, 0) / 1000).toFixed(3)}">`);
    mine.forEach((e, i) => {
      out.push(`    <testcase classname="${xml(o.operationId)}" name="${xml(`${i + 1} ${e.kind}: ${e.label} → ${e.status ?? "no response"}`)}" time="${(e.ms / 1000).toFixed(3)}">`);
      for (const v of e.violations) out.push(`      <failure type="${xml(v.check)}" message="${xml(v.message.slice(0, 500))}">${xml(`${e.method} ${e.url}\nx-request-id: ${e.requestId ?? "-"}\n${v.message}`)}</failure>`);
      out.push("    </testcase>");
    });
    if (skipped) out.push(`    <testcase classname="${xml(o.operationId)}" name="exercised"><skipped message="${xml(o.notRunReason ?? "no conforming response")}"/></testcase>`);
    out.push("  </testsuite>");
  }
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}
