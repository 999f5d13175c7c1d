#!/usr/bin/env node
// `pnpm bench`: throughput and latency of the API on this machine, against a floor
// measured in the same run (a bare Express 5 handler), because absolute numbers
// drift between machines and runs. Loopback only; bounded in time.
//   BENCH_DURATION=8 BENCH_CONNECTIONS=50 pnpm bench
// Submit throughput (`POST /v1/images/generate`) is measured on the embedded default and,
// when DATABASE_URL and REDIS_URL are set (or with --postgres), on PostgreSQL + Redis too:
// a private database on that server and a private Redis key prefix, both removed at the end.
// There it also measures submit from 50 workspaces (one key each), the API's RSS after the
// submit runs, and jobs/s end to end with one API and one `aeriox worker` process: N jobs
// submitted as fast as possible, timed from the first submit to the last completion
// (BENCH_ECHO_JOBS of local/echo, zero work: the engine's own overhead; BENCH_IMAGE_JOBS of
// local/image). Start-up: `node packages/cli/dist/bin.js serve` on an existing data folder
// until /healthz answers (the bundle is built first). Results: bench/results/<date>.json.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const duration = Number(process.env.BENCH_DURATION ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const withPostgres = process.argv.includes("--postgres") || Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);
// The server's own dependencies (pg, ioredis) for the PostgreSQL + Redis setup and cleanup.
const requireCore = createRequire(path.join(root, "packages/core/package.json"));
// Submits pile up (no worker runs in the PostgreSQL + Redis setup): the cap is raised so the
// bench measures accepting, not refusing; the wallet gets an admin credit so no 402 appears.
const SUBMIT_ENV = { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "10000" };
// The end-to-end rows' worker (PostgreSQL + Redis only): local lanes wide enough that the engine, not a lane cap, is measured.
const E2E_ENV = { WORKER_CONCURRENCY: "64", LANE_WORKSPACE_CONCURRENCY: "32" };
// Every request comes from one loopback address: the per-IP budget would answer 429 (as RATE_LIMIT_PER_MINUTE would per key).
const LIMITS_ENV = { IP_RATE_LIMIT_PER_MINUTE: "1000000" };
const SUBMIT_BODY = JSON.stringify({ model: "local/image", prompt: "bench" });

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

/** `services`: { DATABASE_URL, REDIS_URL, REDIS_PREFIX } for PostgreSQL + Redis; omitted = the embedded default. */
async function startApi(dataDir, services) {
  const env = { ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "production", LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "1000000", ...LIMITS_ENV, ...SUBMIT_ENV };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  Object.assign(env, services ?? {});
  const child = spawn(process.execPath, ["--import", "tsx", "packages/cli/src/bin.ts", "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const [, url] = await waitForLine(child, /listening on (http:\/\/\S+)/, "aeriox serve");
  return { child, url: url.replace("localhost", "127.0.0.1"), env };
}

/** The API's resident memory now (VmRSS of the spawned process), in MB. */
function rssMb(child) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))[1]) / 1024;
  } catch {
    return null;
  }
}

function startWorker(env) {
  const child = spawn(process.execPath, ["--import", "tsx", "packages/cli/src/bin.ts", "worker"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  return waitForLine(child, /worker started/, "aeriox worker").then(() => child);
}

/**
 * `count` jobs of `model` submitted through `inFlight` concurrent submitters (spread over
 * `auths`), then waited for: jobs/s from the first submit to the last terminal state,
 * read from the private database (the row is the truth).
 */
async function endToEnd(api, auths, model, count, inFlight = 32) {
  const pg = requireCore("pg");
  const client = new pg.Client({ connectionString: api.env.DATABASE_URL });
  await client.connect();
  try {
    const { rows } = await client.query("SELECT count(*)::int AS n FROM jobs WHERE status IN ('completed','failed','cancelled','nsfw_blocked')");
    const doneBefore = rows[0].n;
    const body = JSON.stringify({ model, prompt: "bench" });
    let next = 0;
    let refused = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, lane) => {
        while (next < count) {
          next++;
          const res = await fetch(`${api.url}/v1/images/generate`, { method: "POST", headers: { ...auths[lane % auths.length], "content-type": "application/json" }, body });
          if (res.status !== 202) refused++;
          await res.arrayBuffer();
        }
      }),
    );
    const submittedMs = performance.now() - started;
    const deadline = Date.now() + 300_000;
    let failed = 0;
    for (;;) {
      const { rows: r } = await client.query(
        "SELECT count(*) FILTER (WHERE status IN ('completed','failed','cancelled','nsfw_blocked'))::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM jobs",
      );
      failed = r[0].failed;
      if (r[0].done - doneBefore >= count - refused || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    const totalMs = performance.now() - started;
    return { jobs: count, refused, failed, submitted_per_s: count / (submittedMs / 1000), jobs_per_s: (count - refused) / (totalMs / 1000), total_ms: Math.round(totalMs) };
  } finally {
    await client.end();
  }
}

/** `node packages/cli/dist/bin.js serve` on a data folder that exists: ms until /healthz answers. */
async function startupMs(dataDir) {
  const env = { ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "production", LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const started = performance.now();
  const child = spawn(process.execPath, ["packages/cli/dist/bin.js", "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  try {
    const [, url] = await waitForLine(child, /listening on (http:\/\/\S+)/, "aeriox serve (bundle)");
    for (;;) {
      const ok = await fetch(`${url.replace("localhost", "127.0.0.1")}/healthz`).then((r) => r.ok, () => false);
      if (ok) return Math.round(performance.now() - started);
      await new Promise((res) => setTimeout(res, 5));
    }
  } finally {
    await new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGTERM");
    });
  }
}

function stopChild(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
    child.once("exit", () => (clearTimeout(force), resolve()));
    child.kill("SIGTERM");
  });
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

/** A private database on the DATABASE_URL server and a private Redis prefix; `drop()` removes both. */
async function privatePostgresAndRedis() {
  const pg = requireCore("pg");
  const Redis = requireCore("ioredis").default ?? requireCore("ioredis");
  const serverUrl = process.env.DATABASE_URL;
  const redisUrl = process.env.REDIS_URL;
  for (const u of [serverUrl, redisUrl]) {
    if (!u) throw new Error("--postgres needs DATABASE_URL and REDIS_URL");
    const host = new URL(u).hostname;
    if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) throw new Error(`bench is loopback-only; refusing ${host}`);
  }
  const suffix = randomBytes(6).toString("hex");
  const name = `aeriox_bench_${suffix}`;
  const admin = async (sql) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const prefix = `aeriox-bench-${suffix}`;
  return {
    services: { DATABASE_URL: url.toString(), REDIS_URL: redisUrl, REDIS_PREFIX: prefix },
    async drop() {
      await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      try {
        let cursor = "0";
        do {
          const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000);
          if (keys.length) await redis.del(...keys);
          cursor = next;
        } while (cursor !== "0");
      } finally {
        redis.disconnect();
      }
    },
  };
}

/** A key in a fresh workspace with an admin credit large enough that the bench never sees a 402. */
async function benchKey(api, workspace) {
  const { key } = JSON.parse(await cli(["keys", "create", "--workspace", workspace, "--json"], api.env));
  await cli(["wallet", "credit", "--workspace", workspace, "--usd", "1000", "--reason", "bench"], api.env);
  return { authorization: `Bearer ${key}` };
}

function submitTarget(api, auth) {
  return { url: `${api.url}/v1/images/generate`, method: "POST", headers: { ...auth, "content-type": "application/json" }, body: SUBMIT_BODY };
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
const pgDataDir = mkdtempSync(path.join(tmpdir(), "aeriox-bench-pg-"));
const children = [];
let privateServices;
try {
  const floor = await startFloor();
  children.push(floor.child);
  const api = await startApi(dataDir);
  children.push(api.child);
  const { key } = JSON.parse(await cli(["keys", "create", "--workspace", "bench", "--json"], api.env));
  const auth = { authorization: `Bearer ${key}` };
  const submit = await fetch(`${api.url}/v1/images/generate`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ model: "local/image", prompt: "bench" }) });
  const { job_id } = await submit.json();

  const extra = {};
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
  results.push(await run("POST /v1/images/generate (submit)", submitTarget(api, await benchKey(api, "bench-submit"))));

  if (withPostgres) {
    privateServices = await privatePostgresAndRedis();
    const pgApi = await startApi(pgDataDir, { ...privateServices.services, ...E2E_ENV });
    children.push(pgApi.child);
    const pgAuth = await benchKey(pgApi, "bench");
    const first = await fetch(`${pgApi.url}/v1/images/generate`, { method: "POST", headers: { ...pgAuth, "content-type": "application/json" }, body: SUBMIT_BODY });
    const { job_id: pgJob } = await first.json();
    results.push(await run("PG+Redis: GET /v1/jobs/{id} (poll)", { url: `${pgApi.url}/v1/jobs/${pgJob}`, headers: pgAuth }));
    results.push(await run("PG+Redis: POST /v1/images/generate", submitTarget(pgApi, await benchKey(pgApi, "bench-submit"))));
    // 50 workspaces, one key each: the accept statement locks one wallet row per workspace.
    // Keys are made with the CLI (two processes each): a few at a time, BENCH_WORKSPACES of them.
    const manyAuths = [];
    const workspaces = Number(process.env.BENCH_WORKSPACES ?? 50);
    for (let i = 0; i < workspaces; i += 5) {
      manyAuths.push(...(await Promise.all(Array.from({ length: Math.min(5, workspaces - i) }, (_, j) => benchKey(pgApi, `bench-ws-${i + j}`)))));
    }
    results.push(
      await run(`PG+Redis: submit, ${workspaces} workspaces`, {
        url: `${pgApi.url}/v1/images/generate`,
        method: "POST",
        requests: manyAuths.map((a) => ({ method: "POST", path: "/v1/images/generate", headers: { ...a, "content-type": "application/json" }, body: SUBMIT_BODY })),
      }),
    );
    extra.api_rss_mb_after_submit = rssMb(pgApi.child);

    // End to end: this API plus one worker process (E2E_ENV).
    const worker = await startWorker(pgApi.env);
    children.push(worker);
    const e2eAuths = manyAuths.slice(0, 10);
    extra.e2e_echo = await endToEnd(pgApi, e2eAuths, "local/echo", Number(process.env.BENCH_ECHO_JOBS ?? 2000));
    extra.e2e_image = await endToEnd(pgApi, e2eAuths, "local/image", Number(process.env.BENCH_IMAGE_JOBS ?? 200));
    extra.worker_rss_mb = rssMb(worker);
  }

  // Start-up on the embedded data folder the first API created (that API is stopped first: it holds the folder's lock).
  await stopChild(api.child);
  await new Promise((resolve, reject) => {
    const build = spawn("pnpm", ["--filter", "@aeriox/cli", "build"], { cwd: root, stdio: "ignore" });
    build.on("close", (code) => (code === 0 ? resolve() : reject(new Error("pnpm --filter @aeriox/cli build failed"))));
  });
  try {
    const startups = [];
    for (let i = 0; i < 3; i++) startups.push(await startupMs(dataDir));
    extra.startup_ms = Math.min(...startups);
    extra.startup_ms_runs = startups;
  } catch (err) {
    extra.startup_error = String(err.message).slice(0, 300);
  }

  const floorRps = results[0].rps;
  console.log("target".padEnd(42) + "req/s".padStart(9) + "p50 ms".padStart(9) + "p99 ms".padStart(9) + "  vs floor" + "  non-2xx");
  for (const r of results) {
    console.log(r.name.padEnd(42) + r.rps.toFixed(0).padStart(9) + String(r.p50).padStart(9) + String(r.p99).padStart(9) + `${((r.rps / floorRps) * 100).toFixed(0)}%`.padStart(10) + String(r.non2xx).padStart(9));
  }
  for (const [name, value] of Object.entries(extra)) console.log(`${name}: ${JSON.stringify(value)}`);
  const date = new Date().toISOString().slice(0, 10);
  const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).map(Number);
  const record = {
    date: new Date().toISOString(),
    connections,
    duration_s: duration,
    loadavg: load,
    floor_rps: floorRps,
    rows: results.map((r) => ({ ...r, vs_floor: Number((r.rps / floorRps).toFixed(3)) })),
    ...extra,
  };
  mkdirSync(path.join(root, "bench/results"), { recursive: true });
  writeFileSync(path.join(root, `bench/results/${date}.json`), JSON.stringify(record, null, 2) + "\n");
  console.log(`\nwritten to bench/results/${date}.json (load average ${load.join(" ")})`);
  const failed = results.filter((r) => r.non2xx > 0);
  if (failed.length) {
    console.error(`\nbench: non-2xx answers from ${failed.map((r) => r.name).join(", ")}`);
    process.exitCode = 1;
  }
} finally {
  // Wait for each server to exit (bounded): the embedded runner may still be writing assets.
  await Promise.all(children.map(stopChild));
  await privateServices?.drop().catch((err) => console.error(`bench: cleanup of the private database/Redis prefix failed: ${err.message}`));
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(pgDataDir, { recursive: true, force: true });
}
