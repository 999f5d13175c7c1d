#!/usr/bin/env node
// Browser check: loads the built ESM bundle (dist/index.js) in headless Chromium and runs a
// generate → SSE wait → PKCE round against a tiny in-process mock of the API. Proves the core needs
// no Node built-ins and that fetch streaming, WebCrypto and the env guard work in a real browser.
// Needs `pnpm build`, Chromium (`apt-get install -y chromium`) and playwright-core (from the
// workspace's server package; not a dependency of the SDK). Usage: node scripts/browser-smoke.mjs
// With AERIOX_BASE_URL + AERIOX_API_KEY it also runs generate → wait → download cross-origin against that server.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../server/package.json", import.meta.url));
const { chromium } = require("playwright-core");
const sdk = readFileSync(new URL("../dist/index.js", import.meta.url));

const JOB = "6f1c2a5e-4b7d-4e2a-9c1f-0d8e7b6a5c4d";
const job = (status) => ({ job_id: JOB, type: "image", status, created_at: new Date().toISOString(), progress_pct: status === "completed" ? 100 : 50, output_urls: status === "completed" ? [`/v1/assets/${JOB}/content?expires=9&signature=s`] : null, error: null });
const seen = [];

const server = createServer((req, res) => {
  seen.push(`${req.method} ${req.url.split("?")[0]} ${req.headers["idempotency-key"] ? "idem" : ""}${req.headers.authorization ? "auth" : ""}`.trim());
  const json = (status, body) => {
    res.writeHead(status, { "content-type": "application/json", "x-request-id": "req_browser" });
    res.end(JSON.stringify(body));
  };
  if (req.url === "/") return res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>sdk</title>");
  if (req.url === "/sdk.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(sdk);
  if (req.url === "/v1/pricing") return json(200, { currency: "USD", micros_per_unit: 1e6, operations: [], generated_at: new Date().toISOString() });
  if (req.url === "/v1/images/generate") return json(202, job("queued"));
  if (req.url === `/v1/jobs/${JOB}/events`) {
    res.writeHead(200, { "content-type": "text/event-stream" });
    res.write(`event: job\ndata: ${JSON.stringify(job("running"))}\n\n`);
    setTimeout(() => res.end(`event: job\ndata: ${JSON.stringify(job("completed"))}\n\n`), 50);
    return;
  }
  if (req.url.startsWith(`/v1/assets/${JOB}/content`)) return res.writeHead(200, { "content-type": "image/png" }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  json(404, { error: { code: "not_found", message: "Not found" } });
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const origin = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage();
  page.on("console", (m) => console.log("  [browser]", m.text()));
  await page.goto(origin + "/");
  const result = await page.evaluate(async (base) => {
    const { Aeriox, NotFoundError, createPkcePair } = await import("/sdk.js");
    const anon = new Aeriox({ baseUrl: base });
    const pricing = await anon.pricing.get();
    let missingKey = "";
    await anon.wallet.get().catch((e) => (missingKey = e.name));
    const client = new Aeriox({ baseUrl: base, apiKey: "sk_live_browser" });
    const progress = [];
    const done = await client.images.generateAndWait({ model: "local/image", prompt: "p" }, { onProgress: (j) => progress.push(j.status) });
    const bytes = new Uint8Array(await done.arrayBuffer());
    const nf = await client.jobs.get("00000000-0000-4000-8000-000000000000").catch((e) => e);
    const pkce = await createPkcePair();
    return { currency: pricing.currency, missingKey, progress, status: done.status, png: bytes[1] === 0x50, notFound: nf instanceof NotFoundError && nf.requestId, pkce: pkce.method, verifierLen: pkce.verifier.length };
  }, origin);
  console.log(JSON.stringify(result));
  const ok = result.currency === "USD" && result.missingKey === "AuthenticationError" && result.status === "completed" &&
    result.progress.join() === "running,completed" && result.png && result.notFound === "req_browser" && result.pkce === "S256" &&
    seen.includes("POST /v1/images/generate idemauth");
  console.log(ok ? "browser smoke: ok" : `browser smoke: FAILED\n${seen.join("\n")}`);
  process.exitCode = ok ? 0 : 1;

  // Optional: the same against a real server, cross-origin (CORS, SSE with Authorization, download).
  if (process.env.AERIOX_BASE_URL && process.env.AERIOX_API_KEY) {
    const live = await page.evaluate(async ([base, key]) => {
      const { Aeriox } = await import("/sdk.js");
      const c = new Aeriox({ baseUrl: base, apiKey: key });
      const progress = [];
      const img = await c.images.generateAndWait({ model: "local/image", prompt: "browser live" }, { deadline: 60000, onProgress: (j) => progress.push(j.status) });
      const bytes = new Uint8Array(await img.arrayBuffer());
      return { status: img.status, progress, png: bytes[1] === 0x50 && bytes[2] === 0x4e, me: (await c.me()).api_key.prefix };
    }, [process.env.AERIOX_BASE_URL, process.env.AERIOX_API_KEY]);
    console.log("live:", JSON.stringify(live));
    const liveOk = live.status === "completed" && live.png;
    console.log(liveOk ? "browser live: ok" : "browser live: FAILED");
    if (!liveOk) process.exitCode = 1;
  }
} finally {
  await browser.close();
  server.close();
}
