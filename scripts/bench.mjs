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
// local/image). The end-to-end rows run on a second private database and Redis prefix, so the
// thousands of jobs the submit rows queued are not in the worker's way. Start-up: the bundle
// serving an existing data folder until /healthz answers. Every server and worker is the built
// bundle (`packages/cli/dist/bin.js`, built first), as `pnpm start` runs it.
// Results: bench/results/<date>.json.
// BENCH_ONLY=e2e runs only the end-to-end rows (needs DATABASE_URL and REDIS_URL) and writes
// bench/results/<date>-e2e.json, so a full run's file is not overwritten. BENCH_WORKER_PROF=<dir>
// runs the worker under `node --cpu-prof` (profile written there when it stops), BENCH_API_PROF=<dir>
// each API server. BENCH_COUNT=1
// makes each end-to-end row also count, per job, the private database's transactions (pg_stat_database,
// API + worker; an autocommit statement is one; the bench's own polling subtracted) and the Redis
// commands (round trips; a script is one) on the private prefix (MONITOR, which slows Redis: its rows' jobs/s are not comparable),
// and sets `log_statement = 'all'` on the private databases (the statements are in the server's log).
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
const onlyE2e = process.env.BENCH_ONLY === "e2e";
if (onlyE2e && !withPostgres) throw new Error("BENCH_ONLY=e2e needs DATABASE_URL and REDIS_URL");
if (process.env.BENCH_ONLY && !onlyE2e) throw new Error(`BENCH_ONLY: only "e2e" is known, not ${process.env.BENCH_ONLY}`);
// The server's own dependencies (pg, ioredis) for the PostgreSQL + Redis setup and cleanup.
const requireCore = createRequire(path.join(root, "packages/core/package.json"));
// Submits pile up (no worker runs in the PostgreSQL + Redis setup): the cap is raised (10,000 was
// reached within a row once submits passed 1,250/s) so the bench measures accepting, not refusing; the wallet gets an admin credit so no 402 appears.
const SUBMIT_ENV = { MAX_INFLIGHT_JOBS_PER_WORKSPACE: "1000000" };
// The end-to-end rows' worker (PostgreSQL + Redis only): local lanes wide enough that the engine, not a lane cap, is measured.
const E2E_ENV = { WORKER_CONCURRENCY: "64", LANE_WORKSPACE_CONCURRENCY: "32" };
// As the Docker image and `pnpm start` run the processes (README, Environment).
const SHIPPED_ENV = { MALLOC_ARENA_MAX: "2", NODE_OPTIONS: "--max-old-space-size=1024" };
// Every request comes from one loopback address: the per-IP budget would answer 429 (as RATE_LIMIT_PER_MINUTE would per key).
const LIMITS_ENV = { IP_RATE_LIMIT_PER_MINUTE: "1000000" };
const SUBMIT_BODY = JSON.stringify({ model: "local/image", prompt: "bench" });
const BIN = "packages/cli/dist/bin.js";

/** Resolves with the first match of `pattern` in the child's output; fails when it exits or after 120 s. */
function waitForLine(child, pattern, label) {
  return new Promise((resolve, reject) => {
    let out = "";
    const done = () => {
      clearTimeout(timer);
      // Output after the match is still drained (a full pipe would block the child), not kept.
      child.stdout.off("data", onData);
      child.stderr.off("data", onData);
      child.off("exit", onExit);
    };
    const onData = (d) => {
      out += d;
      const m = pattern.exec(out);
      if (m) (done(), resolve(m));
    };
    const onExit = (code) => (done(), reject(new Error(`${label} exited (${code}):\n${out}`)));
    const timer = setTimeout(() => (done(), reject(new Error(`${label}: no ${pattern} within 120 s:\n${out.slice(-2000)}`))), 120_000);
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", onExit);
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
  const env = { ...SHIPPED_ENV, ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "production", LOG_LEVEL: "warn", RATE_LIMIT_PER_MINUTE: "1000000", ...LIMITS_ENV, ...SUBMIT_ENV };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  Object.assign(env, services ?? {});
  const prof = process.env.BENCH_API_PROF ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(process.env.BENCH_API_PROF)] : [];
  const child = spawn(process.execPath, [...prof, BIN, "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
  const [, url] = await waitForLine(child, /listening on (http:\/\/\S+)/, "aeriox serve");
  return { child, url: url.replace("localhost", "127.0.0.1"), env };
}

/** CPU time a spawned process has used so far (user + system, /proc/<pid>/stat), in ms; null when unreadable. */
function cpuMs(child) {
  try {
    const fields = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return null;
  }
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
  // "worker started" is logged at info: the API's warn level would hide it.
  const prof = process.env.BENCH_WORKER_PROF ? ["--cpu-prof", "--cpu-prof-dir", path.resolve(process.env.BENCH_WORKER_PROF)] : [];
  const child = spawn(process.execPath, [...prof, BIN, "worker"], { cwd: root, env: { ...env, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  return waitForLine(child, /worker started/, "aeriox worker").then(() => child);
}

/**
 * `count` jobs of `model` submitted by autocannon over `inFlight` connections (spread over
 * `auths`), then waited for: jobs/s from the first submit to the last terminal state,
 * read from the private database (the row is the truth).
 */
async function endToEnd(api, worker, auths, model, count, inFlight = 32) {
  const pg = requireCore("pg");
  const client = new pg.Client({ connectionString: api.env.DATABASE_URL });
  await client.connect();
  const counting = process.env.BENCH_COUNT === "1";
  let ownQueries = 0;
  const xacts = async () => {
    // Each backend reports its counts when idle, at most once a second, or 10 s later: wait that out.
    await new Promise((res) => setTimeout(res, 11_000));
    await client.query("SELECT pg_stat_clear_snapshot()");
    const { rows } = await client.query("SELECT (xact_commit + xact_rollback)::int AS n FROM pg_stat_database WHERE datname = current_database()");
    ownQueries += 2;
    return rows[0].n;
  };
  let monitor;
  let redisCommands = 0;
  const byName = new Map();
  try {
    const xactsBefore = counting ? await xacts() : 0;
    if (counting) {
      const Redis = requireCore("ioredis").default ?? requireCore("ioredis");
      const base = new Redis(api.env.REDIS_URL);
      monitor = await base.monitor();
      base.disconnect(); // the monitor is a connection of its own
      monitor.on("monitor", (_time, args, source) => {
        // Round trips only: the commands a script runs inside Redis are shown too, from "lua".
        if (source === "lua" || !args.some((a) => typeof a === "string" && a.includes(api.env.REDIS_PREFIX))) return;
        redisCommands++;
        // Scripts by the key they start with (BullMQ's and the fair-scheduling ones), less the ids.
        const name = /^eval/i.test(args[0]) ? `${args[0]} ${String(args[3] ?? "").replace(api.env.REDIS_PREFIX, "").replace(/[0-9a-f-]{36}/g, "*")}` : args[0];
        byName.set(name, (byName.get(name) ?? 0) + 1);
      });
    }
    const { rows } = await client.query("SELECT count(*)::int AS n FROM jobs WHERE status IN ('completed','failed','cancelled','nsfw_blocked')");
    ownQueries++;
    const doneBefore = rows[0].n;
    const body = JSON.stringify({ model, prompt: "bench" });
    const cpuBefore = { api: cpuMs(api.child), worker: cpuMs(worker) };
    const started = performance.now();
    // Submitted by autocannon, as the other rows are: exactly `count` requests over `inFlight`
    // connections, each connection going round the workspaces' keys. (Node's fetch, used before,
    // cost this process ~0.85 ms of CPU per submit, taken from the 2 cores the measured processes share.)
    const submitted = await new Promise((resolve, reject) =>
      autocannon(
        { url: api.url, connections: inFlight, amount: count, requests: auths.map((auth) => ({ method: "POST", path: "/v1/images/generate", headers: { ...auth, "content-type": "application/json" }, body })) },
        (err, result) => (err ? reject(err) : resolve(result)),
      ),
    );
    const submittedMs = performance.now() - started;
    if (submitted.requests.total !== count || submitted.errors || submitted.timeouts) throw new Error(`end to end: ${submitted.requests.total} of ${count} submits answered (${submitted.errors} errors, ${submitted.timeouts} timeouts)`);
    const refused = count - submitted["2xx"];
    const deadline = Date.now() + 300_000;
    let failed = 0;
    for (;;) {
      const { rows: r } = await client.query(
        "SELECT count(*) FILTER (WHERE status IN ('completed','failed','cancelled','nsfw_blocked'))::int AS done, count(*) FILTER (WHERE status = 'failed')::int AS failed FROM jobs",
      );
      ownQueries++;
      failed = r[0].failed;
      if (r[0].done - doneBefore >= count - refused || Date.now() > deadline) break;
      await new Promise((res) => setTimeout(res, 25));
    }
    const totalMs = performance.now() - started;
    const result = { jobs: count, refused, failed, submitted_per_s: count / (submittedMs / 1000), jobs_per_s: (count - refused) / (totalMs / 1000), total_ms: Math.round(totalMs) };
    // What each job cost each process in CPU (the worker's overhead per job, for local/echo): jobs/s on a shared
    // 2-core machine is bounded by the sum of these and PostgreSQL's and Redis's share.
    const perJob = (before, after) => (before === null || after === null ? null : Number(((after - before) / count).toFixed(2)));
    Object.assign(result, { api_cpu_ms_per_job: perJob(cpuBefore.api, cpuMs(api.child)), worker_cpu_ms_per_job: perJob(cpuBefore.worker, cpuMs(worker)) });
    if (counting) {
      await new Promise((res) => setTimeout(res, 500)); // the last announcements and lease releases
      monitor.disconnect();
      monitor = undefined;
      const xactsAfter = await xacts();
      Object.assign(result, { pg_xacts_per_job: Number(((xactsAfter - xactsBefore - ownQueries) / count).toFixed(2)), redis_commands_per_job: Number((redisCommands / count).toFixed(2)) });
      result.redis_commands_by_name = Object.fromEntries([...byName].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Number((v / count).toFixed(2))]));
    }
    return result;
  } finally {
    monitor?.disconnect();
    await client.end();
  }
}

/** `node packages/cli/dist/bin.js serve` on a data folder that exists: ms until /healthz answers. */
async function startupMs(dataDir) {
  const env = { ...SHIPPED_ENV, ...process.env, DATA_DIR: dataDir, PORT: "0", HOST: "127.0.0.1", NODE_ENV: "production", LOG_LEVEL: "warn" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, "serve"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
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
  // BENCH_COUNT=1: every statement on it goes to the server's log too (prefixed with the database's name there).
  if (process.env.BENCH_COUNT === "1") await admin(`ALTER DATABASE "${name}" SET log_statement = 'all'`);
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

/**
 * A key in each of `workspaces` (created), each wallet credited enough that the bench never
 * sees a 402. One process runs the CLI's own admin path for all of them (through the running
 * server's admin channel on the embedded default, on the database directly otherwise): a
 * process per key cost ~4 s of start-up each.
 */
function benchKeys(api, workspaces) {
  const script = `
    import { loadConfig } from "@aeriox/core/config";
    import { runAdmin } from "./src/admin-client.ts";
    const config = loadConfig();
    const out = [];
    for (const workspace of ${JSON.stringify(workspaces)}) {
      const { key } = await runAdmin(config, "keys.create", { workspace });
      await runAdmin(config, "wallet.credit", { workspace, usd: 1000, reason: "bench" });
      out.push(key);
    }
    process.stdout.write(JSON.stringify(out));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { cwd: path.join(root, "packages/cli"), env: api.env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out).map((key) => ({ authorization: `Bearer ${key}` }))) : reject(new Error(`bench key setup failed: ${err}`))));
  });
}

async function benchKey(api, workspace) {
  return (await benchKeys(api, [workspace]))[0];
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
const startupDir = mkdtempSync(path.join(tmpdir(), "aeriox-bench-startup-"));
const pgDataDir = mkdtempSync(path.join(tmpdir(), "aeriox-bench-pg-"));
const children = [];
const privateSets = [];
/** Stops a child this bench started and forgets it. */
async function stop(child) {
  await stopChild(child);
  children.splice(children.indexOf(child), 1);
}
try {
  await new Promise((resolve, reject) => {
    const build = spawn("pnpm", ["--filter", "@aeriox/cli", "build"], { cwd: root, stdio: "ignore" });
    build.on("close", (code) => (code === 0 ? resolve() : reject(new Error("pnpm --filter @aeriox/cli build failed"))));
  });
  const extra = {};
  const results = [];
  if (!onlyE2e) {
  // Start-up first, while nothing else runs: the data folder is created (and migrated) once, then timed three times.
  try {
    await startupMs(startupDir);
    const startups = [];
    for (let i = 0; i < 3; i++) startups.push(await startupMs(startupDir));
    extra.startup_ms = Math.min(...startups);
    extra.startup_ms_runs = startups;
  } catch (err) {
    extra.startup_error = String(err.message).slice(0, 300);
  }

  const floor = await startFloor();
  children.push(floor.child);
  const api = await startApi(dataDir);
  children.push(api.child);
  const [auth, submitAuth] = await benchKeys(api, ["bench", "bench-submit"]);
  const submit = await fetch(`${api.url}/v1/images/generate`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: SUBMIT_BODY });
  const { job_id } = await submit.json();

  console.log(`bench: ${connections} connections × ${duration} s per target (2 cores shared with the load generator)\n`);
  results.push(await run("floor: bare Express 202 JSON", { url: `${floor.url}/floor` }));
  results.push(await run("GET /healthz", { url: `${api.url}/healthz` }));
  results.push(await run("GET /v1/me (API key auth + DB read)", { url: `${api.url}/v1/me`, headers: auth }));
  results.push(await run("GET /v1/jobs/{id} (poll)", { url: `${api.url}/v1/jobs/${job_id}`, headers: auth }));
  results.push(await run("GET /v1/pricing (public catalog)", { url: `${api.url}/v1/pricing` }));
  // Rendering runs in worker threads (ARCHITECTURE.md, Jobs, "Rendering"): the API answers beside it.
  const renders = renderLoad(api.url, auth);
  results.push(await run("GET /v1/pricing while local/tts renders", { url: `${api.url}/v1/pricing` }));
  console.log(`local/tts renders completed during that row: ${await renders.stop()}`);
  results.push(await run("POST /v1/images/generate (submit)", submitTarget(api, submitAuth)));
  // The embedded runner would go on rendering the jobs that row queued, beside the next rows.
  await stop(api.child);
  }

  if (withPostgres) {
    const workspaces = Number(process.env.BENCH_WORKSPACES ?? 50);
    if (!onlyE2e) {
      // Accepting: no worker runs, submitted jobs stay queued.
      const services = await privatePostgresAndRedis();
      privateSets.push(services);
      const pgApi = await startApi(pgDataDir, services.services);
      children.push(pgApi.child);
      const [pgAuth, pgSubmitAuth, ...manyAuths] = await benchKeys(pgApi, ["bench", "bench-submit", ...Array.from({ length: workspaces }, (_, i) => `bench-ws-${i}`)]);
      const first = await fetch(`${pgApi.url}/v1/images/generate`, { method: "POST", headers: { ...pgAuth, "content-type": "application/json" }, body: SUBMIT_BODY });
      const { job_id: pgJob } = await first.json();
      results.push(await run("PG+Redis: GET /v1/jobs/{id} (poll)", { url: `${pgApi.url}/v1/jobs/${pgJob}`, headers: pgAuth }));
      results.push(await run("PG+Redis: POST /v1/images/generate", submitTarget(pgApi, pgSubmitAuth)));
      // 50 workspaces, one key each: the accept statement locks one wallet row per workspace.
      results.push(
        await run(`PG+Redis: submit, ${workspaces} workspaces`, {
          url: `${pgApi.url}/v1/images/generate`,
          method: "POST",
          requests: manyAuths.map((a) => ({ method: "POST", path: "/v1/images/generate", headers: { ...a, "content-type": "application/json" }, body: SUBMIT_BODY })),
        }),
      );
      extra.api_rss_mb_after_submit = rssMb(pgApi.child);
      await stop(pgApi.child);
    }
    {
      // End to end on a database and Redis prefix of its own (nothing queued before), one API plus one worker process (E2E_ENV).
      const services = await privatePostgresAndRedis();
      privateSets.push(services);
      const e2eApi = await startApi(pgDataDir, { ...services.services, ...E2E_ENV });
      children.push(e2eApi.child);
      const e2eAuths = await benchKeys(e2eApi, Array.from({ length: 10 }, (_, i) => `bench-e2e-${i}`));
      const worker = await startWorker(e2eApi.env);
      children.push(worker);
      const echoJobs = Number(process.env.BENCH_ECHO_JOBS ?? 2000);
      const imageJobs = Number(process.env.BENCH_IMAGE_JOBS ?? 200);
      if (echoJobs > 0) extra.e2e_echo = await endToEnd(e2eApi, worker, e2eAuths, "local/echo", echoJobs);
      if (imageJobs > 0) extra.e2e_image = await endToEnd(e2eApi, worker, e2eAuths, "local/image", imageJobs);
      extra.worker_rss_mb = rssMb(worker);
      extra.e2e_api_rss_mb = rssMb(e2eApi.child);
    }
  }

  const floorRps = results[0]?.rps ?? null;
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
  const file = `bench/results/${date}${onlyE2e ? "-e2e" : ""}.json`;
  writeFileSync(path.join(root, file), JSON.stringify(record, null, 2) + "\n");
  console.log(`\nwritten to ${file} (load average ${load.join(" ")})`);
  const failed = results.filter((r) => r.non2xx > 0);
  if (failed.length) {
    console.error(`\nbench: non-2xx answers from ${failed.map((r) => r.name).join(", ")}`);
    process.exitCode = 1;
  }
} finally {
  // Wait for each server to exit (bounded): the embedded runner may still be writing assets.
  await Promise.all(children.map(stopChild));
  for (const services of privateSets) {
    await services.drop().catch((err) => console.error(`bench: cleanup of a private database/Redis prefix failed: ${err.message}`));
  }
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(startupDir, { recursive: true, force: true });
  rmSync(pgDataDir, { recursive: true, force: true });
}
