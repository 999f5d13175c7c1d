/**
 * Scale-out: two `aeriox serve` and two `aeriox worker` processes on one PostgreSQL database, one
 * Redis and one shared S3 bucket (a real s3rver). 2,000 jobs (mostly local/echo, 100 local/image
 * at 64 px so real bytes move) are submitted by four workspaces across both API processes with
 * bounded concurrency. Each job is processed exactly once (completed, attempts 1 unless a retry is
 * logged for it, one provider call per attempt, one capture, no hold left), every sampled asset
 * downloads byte-identically through both API processes' signed URLs (and each one's URL verifies
 * on the other: the secret is shared), the bucket holds exactly the assets' objects and no process
 * wrote anything under its DATA_DIR's assets/ (ARCHITECTURE.md, Asset storage; Money and Jobs).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { ListObjectsCommand } from "@aws-sdk/client-s3";
import { runAdminCommand } from "@aeriox/core/admin";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox, type SpawnedProcess } from "../test/processes.ts";
import { S3_KEYS, startTestS3, type TestS3 } from "../test/s3-server.ts";
import { allTerminal, call, freePort, ledgerAudit, print, tally, type Outcome } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const SECRET = "scale-out-asset-url-secret-shared-by-all-0123456789";
const LIMITS = {
  RATE_LIMIT_PER_MINUTE: "1000000",
  IP_RATE_LIMIT_PER_MINUTE: "1000000",
  MAX_INFLIGHT_JOBS_PER_WORKSPACE: "5000",
  TRIAL_CREDIT_USD: "0",
};
const JOBS = 2000;
const WORKSPACES = 4;
/** Every 20th job is a local/image render: 100 of 2,000. */
const IMAGE_EVERY = 20;
const ECHO_SAMPLE = 100;
const SUBMIT_CONCURRENCY = 24;
const DOWNLOAD_CONCURRENCY = 8;
const CREDIT_USD = 10;
const PNG_SIGNATURE = "89504e470d0a1a0a";

/** Runs `fn` over `items` with at most `concurrency` at once. */
async function pool<T, R>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]!, i);
    }),
  );
  return out;
}

/** Sums a Prometheus counter's samples whose labels include every pair of `labels`. */
function counter(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const m = /^[^{]+\{([^}]*)\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const got = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((p) => [p[1], p[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[2]);
  }
  return sum;
}

async function download(url: string): Promise<{ status: number; bytes: Buffer; contentType: string | null }> {
  const res = await fetch(url);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), contentType: res.headers.get("content-type") };
}

let srv: TestServer;
let s3: TestS3;
const dirs: string[] = [];
const tempDir = (name: string) => {
  const d = mkdtempSync(path.join(tmpdir(), `aeriox-scale-${name}-`));
  dirs.push(d);
  return d;
};

describe.skipIf(!multiProcess)("chaos: scale-out, 2 API processes + 2 workers on one bucket", () => {
  beforeAll(async () => {
    s3 = await startTestS3();
    // This process only creates keys and reads rows: no worker here, jobs go to the spawned ones.
    srv = await startTestServer({ worker: false, env: { ...LIMITS, ...s3.env, ASSET_URL_SECRET: SECRET } });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
    await s3?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it(`${JOBS} jobs over 2 API processes and 2 workers: each processed once, every sampled asset identical through both`, async () => {
    const t0 = Date.now();
    const shared = { ...LIMITS, ...S3_KEYS, ...s3.env, ASSET_URL_SECRET: SECRET, LOG_LEVEL: "warn" };

    // Two API processes, each on its own DATA_DIR and its own public URL (so a signed URL says who signed it).
    const apiDirs = [tempDir("api0"), tempDir("api1")];
    const apiPorts = [await freePort(), await freePort()];
    const workerDirs = [tempDir("worker0"), tempDir("worker1")];
    const metricsPorts = [await freePort(), await freePort()];
    const workerLogs = ["", ""];
    const spawned: SpawnedProcess[] = await Promise.all([
      ...apiPorts.map((port, i) => spawnAeriox(srv, "serve", { ...shared, PORT: String(port), PUBLIC_URL: `http://127.0.0.1:${port}`, DATA_DIR: apiDirs[i]! })),
      ...workerDirs.map((dir, i) =>
        spawnAeriox(srv, "worker", { ...shared, DATA_DIR: dir, METRICS_PORT: String(metricsPorts[i]), HOST: "127.0.0.1", WORKER_CONCURRENCY: "32", LANE_WORKSPACE_CONCURRENCY: "16" }),
      ),
    ]);
    const apis = spawned.slice(0, 2).map((p) => p.url!);
    expect(apis).toEqual(apiPorts.map((p) => `http://127.0.0.1:${p}`));
    spawned.slice(2).forEach((w, i) => {
      const keep = (d: Buffer) => (workerLogs[i] = (workerLogs[i] ?? "") + String(d));
      w.child.stdout!.on("data", keep);
      w.child.stderr!.on("data", keep);
    });
    const startupMs = Date.now() - t0;

    const keys = await Promise.all(
      Array.from({ length: WORKSPACES }, async (_, w) => {
        const workspace = `ws-scale-${w}-${Date.now()}`;
        const k = await srv.createKey({ workspace });
        await runAdminCommand(srv.runtime, "wallet.credit", { workspace, usd: CREDIT_USD, reason: "chaos: scale-out" });
        return k;
      }),
    );
    const workspaceOf = new Map(keys.map((k) => [k.workspace_id, k]));

    // Submit: job i goes to API i % 2 for workspace i % 4, so every workspace uses both processes.
    const tSubmit = Date.now();
    const plan = Array.from({ length: JOBS }, (_, i) => ({ i, api: i % 2, ws: i % WORKSPACES, image: i % IMAGE_EVERY === 7 }));
    const outcomes: Outcome[] = await pool(plan, SUBMIT_CONCURRENCY, (p) =>
      call(apis[p.api]!, "/v1/images/generate", {
        key: keys[p.ws]!.key,
        json: p.image ? { model: "local/image", prompt: `scale-out tile ${p.i}`, resolution: "64x64" } : { model: "local/echo", prompt: `scale-out ${p.i}` },
        timeoutMs: 30_000,
      }),
    );
    const submitMs = Date.now() - tSubmit;
    const submitTally = tally(outcomes);
    expect(submitTally, JSON.stringify(outcomes.find((o) => o.status !== 202))).toEqual({ "202": JOBS });
    const submitted = plan.map((p, n) => ({ ...p, jobId: outcomes[n]!.body!.job_id as string }));
    expect(new Set(submitted.map((s) => s.jobId)).size).toBe(JOBS);
    const perApi = apis.map((_, a) => submitted.filter((s) => s.api === a).length);

    // Run: both workers take from the same lanes until every job is terminal.
    const tRun = Date.now();
    for (const k of keys) await allTerminal(srv, k.workspace_id, 120_000);
    const runMs = Date.now() - tRun;

    const prisma = srv.runtime.db.prisma;
    const ids = submitted.map((s) => s.jobId);
    const rows = await prisma.job.findMany({
      where: { id: { in: ids } },
      select: { id: true, workspaceId: true, model: true, status: true, attempts: true, outputAssetIds: true, chargedCostMicros: true, error: true },
    });
    expect(rows).toHaveLength(JOBS);
    const rowOf = new Map(rows.map((r) => [r.id, r]));
    for (const s of submitted) {
      const r = rowOf.get(s.jobId)!;
      expect(r.workspaceId).toBe(keys[s.ws]!.workspace_id);
      expect(r.model).toBe(s.image ? "local/image" : "local/echo");
    }
    expect(rows.filter((r) => r.status !== "completed").map((r) => ({ id: r.id, status: r.status, error: r.error }))).toEqual([]);
    expect(rows.filter((r) => r.outputAssetIds.length !== 1).map((r) => r.id)).toEqual([]);
    // attempts 1, unless a worker logged why the job ran again (a lapsed lock, a retried error).
    const retried = rows.filter((r) => r.attempts !== 1);
    const allLogs = workerLogs.join("");
    expect(retried.filter((r) => r.attempts < 1 || !allLogs.includes(r.id)).map((r) => ({ id: r.id, attempts: r.attempts }))).toEqual([]);

    // Per worker, from its own /metrics: jobs it settled and provider calls it made.
    const scrapes = await Promise.all(metricsPorts.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
    const perWorker = scrapes.map((text) => ({
      completed: counter(text, "aeriox_jobs_finished_total", { type: "image", state: "completed" }),
      other_terminal: ["failed", "cancelled", "nsfw_blocked"].reduce((n, state) => n + counter(text, "aeriox_jobs_finished_total", { state }), 0),
      provider_calls: counter(text, "aeriox_provider_calls_total", { provider: "local" }),
    }));
    const totalAttempts = rows.reduce((n, r) => n + r.attempts, 0);
    expect(perWorker.reduce((n, w) => n + w.completed, 0)).toBe(JOBS);
    expect(perWorker.reduce((n, w) => n + w.other_terminal, 0)).toBe(0);
    // One provider call per attempt: no job ran on both workers unless its attempts say so.
    expect(perWorker.reduce((n, w) => n + w.provider_calls, 0)).toBe(totalAttempts);
    for (const w of perWorker) expect(w.completed, "both workers took jobs").toBeGreaterThan(0);

    // Money, per workspace: the audit, one capture per job, nothing held, balance = credit - charges.
    for (const k of keys) {
      const counts = await ledgerAudit(srv, k.workspace_id, `scale-out workspace ${k.workspace_id.slice(0, 8)}`);
      expect(counts.completed).toBe(JOBS / WORKSPACES);
      expect(counts.captures).toBe(JOBS / WORKSPACES);
      expect(counts.held_count).toBe(0);
      const charged = rows.filter((r) => r.workspaceId === k.workspace_id).reduce((n, r) => n + Number(r.chargedCostMicros ?? -1_000_000_000), 0);
      expect(counts.balance_micros).toBe(CREDIT_USD * 1e6 - charged);
    }

    // The bucket holds exactly one object per asset, at the asset's storage key.
    const assetIds = rows.map((r) => r.outputAssetIds[0]!);
    const assets = await prisma.asset.findMany({ where: { id: { in: assetIds } }, select: { id: true, jobId: true, workspaceId: true, storageKey: true, sizeBytes: true } });
    expect(assets).toHaveLength(JOBS);
    const assetOf = new Map(assets.map((a) => [a.id, a]));
    for (const r of rows) expect(assetOf.get(r.outputAssetIds[0]!)!.jobId).toBe(r.id);
    const objects = new Map<string, number>();
    // ListObjects (v1) paged by Marker: s3rver 3.7.1 builds V2 continuation tokens with DES, which
    // OpenSSL 3 (Node >= 17) refuses, so a V2 listing of more than 1,000 keys answers 500.
    for (let marker: string | undefined; ; ) {
      const page = await s3.client.send(new ListObjectsCommand({ Bucket: s3.bucket, ...(marker ? { Marker: marker } : {}) }));
      for (const o of page.Contents ?? []) objects.set(o.Key!, o.Size ?? -1);
      if (!page.IsTruncated || !page.Contents?.length) break;
      marker = page.Contents.at(-1)!.Key;
    }
    expect(objects.size).toBe(JOBS);
    expect(assets.filter((a) => objects.get(a.storageKey) !== Number(a.sizeBytes)).map((a) => a.storageKey)).toEqual([]);

    // Downloads: every image job and ECHO_SAMPLE echo jobs spread over the run, through both processes.
    const tDownload = Date.now();
    const images = submitted.filter((s) => s.image);
    const echoes = submitted.filter((s) => !s.image);
    const step = Math.floor(echoes.length / ECHO_SAMPLE);
    const sample = [...images, ...Array.from({ length: ECHO_SAMPLE }, (_, n) => echoes[n * step]!)];
    let downloads = 0;
    const problems: string[] = [];
    await pool(sample, DOWNLOAD_CONCURRENCY, async (s) => {
      const assetId = rowOf.get(s.jobId)!.outputAssetIds[0]!;
      const asset = assetOf.get(assetId)!;
      const stored = Buffer.from(await s3.get(asset.storageKey));
      const key = workspaceOf.get(asset.workspaceId)!.key;
      const urls: string[] = [];
      for (const api of apis) {
        const meta = await call(api, `/v1/assets/${assetId}`, { key });
        if (meta.status !== 200) return void problems.push(`${api} GET /v1/assets/${assetId}: ${meta.status} ${JSON.stringify(meta.body)}`);
        const url = meta.body!.url as string;
        if (new URL(url).origin !== api) problems.push(`${api} signed ${url}`);
        if (meta.body!.size_bytes !== stored.length) problems.push(`${assetId}: size_bytes ${String(meta.body!.size_bytes)} != stored ${stored.length}`);
        urls.push(url);
      }
      // Each process's URL on itself, and on the other process (one shared secret).
      const other = (url: string, from: number) => apis[1 - from]! + url.slice(apis[from]!.length);
      for (const url of [urls[0]!, urls[1]!, other(urls[0]!, 0), other(urls[1]!, 1)]) {
        const got = await download(url);
        downloads++;
        if (got.status !== 200) problems.push(`${url}: ${got.status} ${got.bytes.toString().slice(0, 200)}`);
        else if (!got.bytes.equals(stored)) problems.push(`${url}: ${got.bytes.length} bytes differ from the stored ${stored.length}`);
        else if (got.contentType !== "image/png" || got.bytes.subarray(0, 8).toString("hex") !== PNG_SIGNATURE) problems.push(`${url}: not a PNG (${got.contentType})`);
      }
      // A rendered 64 px image is real bytes, not the 1x1 echo pixel.
      if (s.image && (stored.length <= 70 || stored.readUInt32BE(16) !== 64)) problems.push(`${assetId}: image of ${stored.length} bytes, width ${stored.readUInt32BE(16)}`);
    });
    expect(problems).toEqual([]);
    expect(downloads).toBe(sample.length * 4);
    const downloadMs = Date.now() - tDownload;

    // Nothing written under any process's DATA_DIR assets/ (the API processes', the workers', this one's).
    for (const dir of [...apiDirs, ...workerDirs, srv.config.dataDir]) expect(existsSync(path.join(dir, "assets")), dir).toBe(false);

    const imageBytes = assets.filter((a) => images.some((s) => rowOf.get(s.jobId)!.outputAssetIds[0] === a.id)).reduce((n, a) => n + Number(a.sizeBytes), 0);
    print(
      `[chaos]   scale-out: ${JOBS} jobs (${images.length} local/image 64 px, ${echoes.length} local/echo) by ${WORKSPACES} workspaces; submits ${JSON.stringify(submitTally)}; ` +
        `per API process ${JSON.stringify(Object.fromEntries(apis.map((a, i) => [a, perApi[i]])))}; per worker ${JSON.stringify(perWorker)}; ` +
        `retried ${retried.length}; bucket objects ${objects.size} (${imageBytes} image bytes); downloads checked ${downloads} (${sample.length} assets x 2 signers x 2 servers)`,
    );
    print(`[chaos]   scale-out wall time: startup ${startupMs} ms, submit ${submitMs} ms, run-out ${runMs} ms, downloads ${downloadMs} ms, total ${Date.now() - t0} ms`);
  }, 170_000);
});
