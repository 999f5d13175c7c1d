/**
 * PostgreSQL unreachable for a few seconds under load. The machine's PostgreSQL is shared by
 * every other test, so it is not stopped: an `aeriox serve` and an `aeriox worker` process
 * reach it through a TCP proxy this test controls, which is cut (every connection dropped, new
 * ones refused) and restored on the same port. Meanwhile submits answer 503 (never 500, never a
 * hang), /readyz answers 503; afterwards the same processes serve again, every job ends, and
 * the ledger audit is clean.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox } from "../test/processes.ts";
import { allTerminal, call, ledgerAudit, load, sleep, tally, tcpProxy, until, type Outcome, print } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const LIMITS = { RATE_LIMIT_PER_MINUTE: "1000000", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "5000" };
const CUT_MS = 4000;
/** A request answered later than this counts as a hang. */
const CLIENT_TIMEOUT_MS = 10_000;
let srv: TestServer;
let proxy: Awaited<ReturnType<typeof tcpProxy>> | undefined;

describe.skipIf(!multiProcess)("chaos: PostgreSQL unreachable", () => {
  beforeAll(async () => {
    srv = await startTestServer({ worker: false, env: LIMITS });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await proxy?.close();
    await srv?.close();
  });

  it("the database cut for a few seconds: 503s and /readyz 503, then recovery without a restart, audit clean", async () => {
    const direct = new URL(srv.databaseUrl!);
    proxy = await tcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(direct);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    const env = { ...LIMITS, DATABASE_URL: viaProxy.toString(), PUBLIC_URL: "", LOG_LEVEL: "fatal" };
    const [api, worker] = await Promise.all([spawnAeriox(srv, "serve", env), spawnAeriox(srv, "worker", env)]);
    const url = api.url!;
    const { key, workspace_id } = await srv.createKey();

    const sent: Array<{ at: number; o: Outcome; ms: number }> = [];
    const submit = (i: number) => call(url, "/v1/images/generate", { key, timeoutMs: CLIENT_TIMEOUT_MS, json: { model: "local/image", prompt: `pg ${i}`, resolution: "64x64" } });
    const traffic = load(async (i) => {
      const at = Date.now();
      const o = i % 5 === 4 ? await call(url, `/v1/wallet`, { key, timeoutMs: CLIENT_TIMEOUT_MS }) : await submit(i);
      sent.push({ at, o, ms: Date.now() - at });
      if (o.status === 503) await sleep(100); // a client backing off
      return o;
    }, 4);
    const readiness: Outcome[] = [];
    await sleep(1500);

    await proxy.cut();
    const down = Date.now();
    await until("/readyz 503 while the database is cut", async () => {
      const r = await call(url, "/readyz", { timeoutMs: CLIENT_TIMEOUT_MS });
      readiness.push(r);
      return r.status === 503 ? r : null;
    }, 10_000, 100);
    await sleep(Math.max(0, CUT_MS - (Date.now() - down)));
    await proxy.restore();
    const up = Date.now();
    // Recovery without a restart: ready and accepting again.
    await until("/readyz 200 after the database is back", async () => {
      const r = await call(url, "/readyz", { timeoutMs: CLIENT_TIMEOUT_MS });
      readiness.push(r);
      return r.status === 200 ? r : null;
    }, 30_000, 200);
    await until("a 202 after the database is back", async () => sent.some((s) => s.at > up && s.o.status === 202), 30_000, 100);
    await sleep(1000);
    const outcomes = await traffic.stop();

    const t = tally(outcomes);
    // Answered while the database was cut (a request that waited and was served after the restore may well be a 202).
    const during = tally(sent.filter((s) => s.at > down + 200 && s.at + s.ms < up).map((s) => s.o));
    const slowest = Math.max(...sent.map((s) => s.ms));
    print(`[chaos]   client outcomes: ${JSON.stringify(t)}; sent while cut: ${JSON.stringify(during)}; readiness: ${JSON.stringify(tally(readiness))}; slowest answer ${slowest} ms`);
    expect(Object.keys(t).filter((k) => !k.startsWith("200") && !k.startsWith("202") && !k.startsWith("503")), JSON.stringify(t)).toEqual([]);
    expect(Object.keys(during).length, JSON.stringify(during)).toBeGreaterThan(0);
    expect(Object.keys(during).filter((k) => !k.startsWith("503")), JSON.stringify(during)).toEqual([]);
    expect(api.child.exitCode).toBeNull();
    expect(worker.child.exitCode).toBeNull();

    await allTerminal(srv, workspace_id, 120_000);
    const counts = await ledgerAudit(srv, workspace_id, "PostgreSQL cut");
    // Every accepted job ran; nothing was charged for a refused one.
    expect(counts.completed).toBe(t["202"]);
  }, 180_000);
});
