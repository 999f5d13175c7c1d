/**
 * The suite can fail: a deliberately broken deployment (a tiny Express app) answers one operation
 * with an undocumented status, one with a body missing a required field, one with a leaked 500
 * and its stack, and one without `x-request-id`; each is caught and reported (Markdown, JUnit,
 * exit code), while the one operation it answers correctly passes.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { once } from "node:events";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import express from "express";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runContractTests, type RunResult } from "../src/index.ts";

const OPERATIONS = "getHealth,getReadiness,getMe,getCredits,oauthJwks";
let server: Server;
let url: string;
let reportDir: string;
let result: RunResult;

beforeAll(async () => {
  const app = express();
  let n = 0;
  const withId = (res: express.Response) => res.setHeader("x-request-id", `req_broken_${++n}`);
  // Missing x-request-id (otherwise conforming).
  app.get("/healthz", (_req, res) => void res.json({ status: "ok" }));
  // Body missing the required `checks`.
  app.get("/readyz", (_req, res) => void withId(res).json({ status: "ready" }));
  // An undocumented status.
  app.get("/v1/me", (_req, res) => void withId(res).status(418).json({ error: { code: "teapot", message: "I'm a teapot" } }));
  // A leaked 500 with a stack trace.
  app.get("/v1/credits", (_req, res) => {
    const err = new Error("boom");
    void withId(res).status(500).json({ error: { code: "internal_error", message: `boom\n${err.stack}` } });
  });
  // Correct.
  app.get("/v1/oauth/jwks", (_req, res) => void withId(res).json({ keys: [] }));
  app.use((_req, res) => void withId(res).status(404).json({ error: { code: "not_found", message: "Not found" } }));
  server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  reportDir = mkdtempSync(path.join(tmpdir(), "aeriox-contract-broken-"));
  result = await runContractTests({ baseUrl: url, apiKey: "sk_live_anything", only: OPERATIONS, reportDir });
});

afterAll(async () => {
  server?.close();
  if (reportDir) rmSync(reportDir, { recursive: true, force: true });
});

const violationsOf = (operationId: string) => result.exchanges.filter((e) => e.operationId === operationId).flatMap((e) => e.violations);

describe("the suite against a broken deployment", () => {
  it("fails the run", () => {
    expect(result.ok).toBe(false);
    expect(result.violations).toBeGreaterThan(0);
  });

  it("catches the missing x-request-id", () => {
    expect(violationsOf("getHealth").map((v) => `${v.check}: ${v.message}`)).toContain("headers: no x-request-id header");
  });

  it("catches the body missing a required field", () => {
    expect(violationsOf("getReadiness").some((v) => v.check === "schema" && /must have required property 'checks'/.test(v.message))).toBe(true);
  });

  it("catches the undocumented status", () => {
    expect(violationsOf("getMe").some((v) => v.check === "status" && /status 418 is not documented/.test(v.message))).toBe(true);
  });

  it("catches the leaked 500 and its stack", () => {
    const checks = violationsOf("getCredits").map((v) => v.check);
    expect(checks).toContain("no-5xx");
    expect(checks).toContain("no-stack");
  });

  it("passes the operation the broken server answers correctly", () => {
    expect(violationsOf("oauthJwks")).toEqual([]);
    expect(result.coverage.operations.find((o) => o.operationId === "oauthJwks")?.exercised).toBe(true);
  });

  it("reports each in the Markdown summary and the JUnit XML", () => {
    const md = readFileSync(path.join(reportDir, "contract-report.md"), "utf8");
    const xml = readFileSync(path.join(reportDir, "junit.xml"), "utf8");
    expect(md).toMatch(/^# AERIOX contract test: FAIL/);
    for (const needle of ["no x-request-id header", "must have required property 'checks'", "status 418 is not documented", "the body leaks a stack trace", "server error 500"]) {
      expect(md).toContain(needle);
      expect(xml).toContain(needle.replace(/'/g, "&apos;"));
    }
    expect(xml).toMatch(/<testsuite name="getCredits" tests="\d+" failures="[1-9]/);
    expect(xml).toMatch(/<testsuite name="oauthJwks" tests="\d+" failures="0"/);
  });

  it("exits non-zero from the command line", async () => {
    const bin = fileURLToPath(new URL("../src/bin.ts", import.meta.url));
    // Asynchronously: the broken server answers from this process.
    const run = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(process.execPath, ["--import", "tsx", bin, "--base-url", url, "--api-key", "sk_live_anything", "--only", OPERATIONS, "--quiet"], { encoding: "utf8", timeout: 60_000 }, (_err, stdout) => resolve({ code: child.exitCode, stdout }));
    });
    expect(run.stdout).toMatch(/contract-test: FAIL: \d+ violation/);
    expect(run.code).toBe(1);
  });
});
