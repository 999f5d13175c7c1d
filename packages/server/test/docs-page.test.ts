/**
 * `GET /docs` in a real browser (headless Chromium via playwright-core): the page is
 * public, renders the spec the server serves, lists every tag and every operation
 * summary, runs under its CSP without a violation, and fetches nothing from another
 * origin (it must work offline). The screenshot goes to a temporary file; with
 * UPDATE_REFERENCE_SCREENSHOT=1 it replaces docs/reference-page.png (a test run leaves the
 * committed tree as it found it).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { readDocumentFile, SPEC_PATH } from "@aeriox/contract";
import { startTestServer, type TestServer } from "./harness.ts";

const CHROMIUM = "/usr/bin/chromium";
const scratch = process.env.UPDATE_REFERENCE_SCREENSHOT === "1" ? null : mkdtempSync(path.join(tmpdir(), "aeriox-docs-page-"));
const SCREENSHOT = scratch ? path.join(scratch, "reference-page.png") : fileURLToPath(new URL("../../../docs/reference-page.png", import.meta.url));

let srv: TestServer;
let browser: Browser;

beforeAll(async () => {
  // Chromium is a declared system dependency (.ci/system-deps): without it this must fail, not skip.
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run .ci/system-deps`).toBe(true);
  srv = await startTestServer();
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await srv?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

function specIndex() {
  const doc = readDocumentFile(SPEC_PATH) as { tags?: Array<{ name: string }>; paths: Record<string, Record<string, { summary?: string; operationId?: string }>> };
  const summaries: string[] = [];
  for (const item of Object.values(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (["get", "post", "put", "patch", "delete"].includes(method) && op.summary) summaries.push(op.summary);
    }
  }
  return { tags: (doc.tags ?? []).map((t) => t.name), summaries };
}

describe("GET /docs", () => {
  it("is public HTML with a CSP that allows this origin only", async () => {
    const res = await fetch(srv.url + "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const csp = res.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*(unsafe|https?:)/);
    const bundle = await fetch(srv.url + "/docs/scalar.js");
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  it("lists every tag and operation of the spec in a browser, offline, without CSP violations", { timeout: 120_000 }, async () => {
    const { tags, summaries } = specIndex();
    expect(summaries.length).toBeGreaterThan(20);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(m.text());
    });
    page.on("pageerror", (err) => problems.push(String(err)));
    // Any request to another origin is recorded and refused: the page must not need the network.
    await context.route("**/*", (route) => {
      const url = route.request().url();
      if (url.startsWith(srv.url) || url.startsWith("data:") || url.startsWith("blob:")) return route.continue();
      foreign.push(url);
      return route.abort();
    });

    await page.goto(srv.url + "/docs");
    // The last summary rendered means the spec was fetched and the whole document laid out.
    await page.getByText(summaries.at(-1)!, { exact: true }).first().waitFor({ state: "attached", timeout: 60_000 });
    const text = await page.evaluate(() => document.body.textContent ?? "");
    for (const tag of tags) expect(text, `tag ${tag}`).toContain(tag);
    const missing = summaries.filter((s) => !text.includes(s));
    expect(missing).toEqual([]);
    // "Test request" goes to the server that served the page.
    expect(text).toContain(srv.url);

    await page.screenshot({ path: SCREENSHOT });
    expect(problems).toEqual([]);
    expect(foreign).toEqual([]);
    await context.close();
  });
});
