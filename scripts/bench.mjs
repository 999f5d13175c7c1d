#!/usr/bin/env node
// `pnpm bench`: throughput and latency of the API on this machine, against a floor
// measured in the same run (a bare Express 5 handler), because absolute numbers
// drift between machines and runs. Loopback only; bounded in time.
//   BENCH_DURATION=8 BENCH_CONNECTIONS=50 pnpm bench
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const duration = Number(process.env.BENCH_DURATION ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);

function waitForLine(child, pattern, label) {
  return new Promise((resolve, reject) => {
    let out = "";
    const onData = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) resolve(m);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${label} exited (${code}):\n${out}`)));
  });
}

/**
 * Keeps `inFlight` local/tts renders (5,000 characters each, through the synchronous audio
 * endpoint) going until stopped: the render pool stays busy while a row is measured.
 */
function renderLoad(apiUrl, auth, inFlight = 6) {
  const body = JSON.stringify({ model: "local/tts", text: "The quick brown fox jumps over the lazy dog. ".repeat(111) });
  let stopped = false;
  let completed = 0;
  const loop = async () => {
    while (!stopped) {
      const res = await fetch(`${apiUrl}/v1/audio/generate`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body });
      if ((await res.json()).status === "completed") completed++;
    }
  };
  const loops = Array.from({ length: inFlight }, loop);
  return {
    async stop() {
      stopped = true;
      await Promise.all(loops);
      return completed;
    },
  };
}

async function startFloor() {
  const code = `
    const express = require("express");
    const app = express();
    app.get("/floor", (req, res) => res.status(202).json({ job_id: "00000000-0000-4000-8000-000000000000", status: "queued" }));
    const s = app.listen(0, "127.0.0.1", () => console.log("floor on " + s.address().port));`;
  const child = spawn(process.execPath, ["-e", code], { cwd: path.join(root, "packages/server"), stdio: ["ignore", "pipe", "pipe"] });
  const [, port] = await waitForLine(child, /floor on (\d+)/, "floor server");
  return { child, url: `http://127.0.0.1:${port}` };
}

async function startApi(dataDir) {
  const env = { ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "production", LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "1000000" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const child = spawn(process.execPath, ["--import", "tsx", "packages/cli/src/bin.ts", "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const [, url] = await waitForLine(child, /listening on (http:\/\/\S+)/, "aeriox serve");
  return { child, url: url.replace("localhost", "127.0.0.1"), env };
}

function cli(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "packages/cli/src/bin.ts", ...args], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
  });
}

function run(name, options) {
  return new Promise((resolve, reject) => {
    autocannon({ connections, duration, ...options }, (err, result) => {
      if (err) return reject(err);
      const non2xx = result.non2xx + result.errors + result.timeouts;
      resolve({ name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx });
    });
  });
}

const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-bench-"));
const children = [];
try {
  const floor = await startFloor();
  children.push(floor.child);
  const api = await startApi(dataDir);
  children.push(api.child);
  const { key } = JSON.parse(await cli(["keys", "create", "--workspace", "bench", "--json"], api.env));
  const auth = { authorization: `Bearer ${key}` };
  const submit = await fetch(`${api.url}/v1/images/generate`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ model: "local/image", prompt: "bench" }) });
  const { job_id } = await submit.json();

  console.log(`bench: ${connections} connections × ${duration} s per target (2 cores shared with the load generator)\n`);
  const results = [];
  results.push(await run("floor: bare Express 202 JSON", { url: `${floor.url}/floor` }));
  results.push(await run("GET /healthz", { url: `${api.url}/healthz` }));
  results.push(await run("GET /v1/me (API key auth + DB read)", { url: `${api.url}/v1/me`, headers: auth }));
  results.push(await run("GET /v1/jobs/{id} (poll)", { url: `${api.url}/v1/jobs/${job_id}`, headers: auth }));
  results.push(await run("GET /v1/pricing (public catalog)", { url: `${api.url}/v1/pricing` }));
  // Rendering runs in worker threads (ARCHITECTURE.md, Jobs, "Rendering"): the API answers beside it.
  const renders = renderLoad(api.url, auth);
  results.push(await run("GET /v1/pricing while local/tts renders", { url: `${api.url}/v1/pricing` }));
  console.log(`local/tts renders completed during that row: ${await renders.stop()}`);

  const floorRps = results[0].rps;
  console.log("target".padEnd(42) + "req/s".padStart(9) + "p50 ms".padStart(9) + "p99 ms".padStart(9) + "  vs floor" + "  non-2xx");
  for (const r of results) {
    console.log(r.name.padEnd(42) + r.rps.toFixed(0).padStart(9) + String(r.p50).padStart(9) + String(r.p99).padStart(9) + `${((r.rps / floorRps) * 100).toFixed(0)}%`.padStart(10) + String(r.non2xx).padStart(9));
  }
  const failed = results.filter((r) => r.non2xx > 0);
  if (failed.length) {
    console.error(`\nbench: non-2xx answers from ${failed.map((r) => r.name).join(", ")}`);
    process.exitCode = 1;
  }
} finally {
  for (const child of children) child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 500));
  rmSync(dataDir, { recursive: true, force: true });
}
