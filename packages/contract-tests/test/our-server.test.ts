/**
 * Our CI runs the contract suite against our own server (started in-process by the server's
 * test harness, on whichever deployment the environment selects: the embedded default, or
 * PostgreSQL + Redis with DATABASE_URL/REDIS_URL), with keys made through the admin path.
 * Asserts: zero violations, and every operation exercised except those listed below with why.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../../server/test/harness.ts";
import { loadSpec, runContractTests, type RunResult } from "../src/index.ts";

/** Operations the suite cannot exercise on our test deployment, with the reason (none today). */
const CANNOT_EXERCISE: Record<string, string> = {};
const FUZZ = Number(process.env.CONTRACT_FUZZ ?? 500);

let srv: TestServer;
let reportDir: string;
let result: RunResult;
let keyId: string;

beforeAll(async () => {
  // Rate limits high enough that the run is not spent waiting on 429s (the suite honours retry-after).
  srv = await startTestServer({ env: { RATE_LIMIT_PER_MINUTE: "1000000", IP_RATE_LIMIT_PER_MINUTE: "1000000", OAUTH_IP_RATE_LIMIT_PER_MINUTE: "1000000" } });
  const one = await srv.createKey({ workspace: "contract-one" });
  const two = await srv.createKey({ workspace: "contract-two" });
  keyId = one.key_id;
  reportDir = mkdtempSync(path.join(tmpdir(), "aeriox-contract-"));
  result = await runContractTests({ baseUrl: srv.url, apiKey: one.key, apiKey2: two.key, reportDir, fuzz: FUZZ, budgetUsd: 1 });
  const c = result.coverage;
  console.log(
    `contract-test (${srv.config.databaseKind}/${srv.config.queueKind}): ${result.violations} violation(s); ${c.exercisedOperations}/${c.inScopeOperations} operations, ${c.exercisedStatuses}/${c.documentedStatuses} documented statuses; ${result.exchanges.length} requests; $${result.spentUsd.toFixed(6)}; ${(result.durationMs / 1000).toFixed(1)} s`,
  );
}, 600_000);

afterAll(async () => {
  await srv?.close();
  if (reportDir) rmSync(reportDir, { recursive: true, force: true });
});

describe("contract suite against our server", () => {
  it("finds no violation", () => {
    const lines = result.exchanges.filter((e) => e.violations.length).map((e) => `${e.operationId} ${e.kind} [${e.label}] → ${e.status}: ${e.violations.map((v) => `${v.check}: ${v.message}`).join("; ")}`);
    expect(lines).toEqual([]);
    expect(result.ok).toBe(true);
  });

  it("exercises every operation of the spec (except those listed with a reason)", () => {
    const all = loadSpec().operations.map((o) => o.operationId);
    expect(result.coverage.inScopeOperations).toBe(all.length);
    expect(Object.fromEntries(result.notExercised.map((o) => [o.operationId, o.reason]))).toEqual(CANNOT_EXERCISE);
  });

  it("ran every check, sent the fuzz requests and stayed within the budget", () => {
    const checks = new Set(result.exchanges.flatMap((e) => e.ran));
    expect([...checks].sort()).toEqual(["content-type", "error-shape", "headers", "no-5xx", "no-stack", "schema", "status"]);
    expect(result.exchanges.filter((e) => e.kind === "fuzz").length).toBeGreaterThanOrEqual(FUZZ);
    expect(result.exchanges.filter((e) => e.kind === "negative").length).toBeGreaterThan(300);
    expect(result.spentUsd).toBeGreaterThan(0);
    expect(result.spentUsd).toBeLessThanOrEqual(1);
  });

  it("cleaned up: no card, character or extra key left in the workspace", async () => {
    const auth = { headers: { authorization: `Bearer ${(await srv.createKey({ workspace: "contract-one", scopes: ["read", "admin"] })).key}` } };
    const list = async <T>(pathname: string) => ((await (await fetch(`${srv.url}${pathname}`, auth)).json()) as { data: T[] }).data;
    const cards = await list<{ global: boolean }>("/v1/cards?limit=100");
    expect(Array.isArray(cards)).toBe(true);
    expect(cards.filter((c) => !c.global)).toEqual([]);
    expect(await list("/v1/characters")).toEqual([]);
    const keys = await list<{ id: string; revoked_at: string | null; expires_at: string | null }>("/v1/api-keys");
    // The suite made keys (create, rotate): all are revoked now.
    expect(keys.filter((k) => k.revoked_at).length).toBeGreaterThanOrEqual(2);
    const active = keys.filter((k) => !k.revoked_at).map((k) => k.id);
    // The suite's own key and the one this test just made.
    expect(active.length).toBe(2);
    expect(active).toContain(keyId);
  });

  it("wrote the Markdown summary and the JUnit XML", () => {
    const md = readFileSync(path.join(reportDir, "contract-report.md"), "utf8");
    expect(md).toMatch(/^# AERIOX contract test: PASS/);
    expect(md).toContain("| `createCard` |");
    const xml = readFileSync(path.join(reportDir, "junit.xml"), "utf8");
    expect(xml).toMatch(/<testsuites name="aeriox-contract-test" tests="\d+" failures="0"/);
  });
});
