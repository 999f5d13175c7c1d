/**
 * An API process stopped under load (PostgreSQL + Redis, two `aeriox serve` processes behind a
 * health-checking balancer, workers on the shared queue). SIGTERM starts the drain: /readyz
 * answers 503 while the process still accepts and answers, the balancer takes it out of
 * rotation, then the listener closes and the process exits 0. Clients see completed responses,
 * or a connection refused before anything was sent — never a reset one; a connection accepted
 * before the listener closed whose request comes only afterwards is still answered; every
 * accepted job runs.
 */
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox } from "../test/processes.ts";
import { allTerminal, balancer, call, heldConnection, ledgerAudit, load, refuses, sleep, tally, until, type Outcome, print } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const LIMITS = { RATE_LIMIT_PER_MINUTE: "1000000", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "5000" };
/** Balancer: a failed check takes a process out of rotation within CHECK_MS; the drain is several checks long. */
const CHECK_MS = 200;
const DRAIN_MS = 1500;
let srv: TestServer;

describe.skipIf(!multiProcess)("chaos: API processes", () => {
  beforeAll(async () => {
    srv = await startTestServer({ env: LIMITS });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
  });

  it("SIGTERM an API process under load: drained, no failed request, no lost job, exit 0", async () => {
    // PUBLIC_URL empty: each process names the port it bound.
    const env = { ...LIMITS, PUBLIC_URL: "", SHUTDOWN_DRAIN_MS: String(DRAIN_MS), LOG_LEVEL: "error" };
    const [doomed, survivor] = await Promise.all([spawnAeriox(srv, "serve", env), spawnAeriox(srv, "serve", env)]);
    const a = doomed.url!;
    const b = survivor.url!;
    const { key, workspace_id } = await srv.createKey();
    const lb = balancer([a, b], CHECK_MS);
    const sent: Array<{ url: string; at: number; o: Outcome }> = [];
    const traffic = load(async (i) => {
      const url = lb.pick() ?? b;
      const at = Date.now();
      const o = await call(url, "/v1/images/generate", { key, json: { model: "local/image", prompt: `drain ${i}`, resolution: "64x64" } });
      sent.push({ url, at, o });
      return o;
    }, 8);
    await sleep(2000);

    // Accepted by A before it stops; its request is written only after A's listener has closed.
    const held = await heldConnection(a);
    const sigterm = Date.now();
    const exited = once(doomed.child, "exit");
    doomed.child.kill("SIGTERM");
    const closedAt = await until("A's listener closed", async () => ((await refuses(a)) ? Date.now() : null), 20_000, 25);
    const late = await held.send("/v1/images/generate", { key, json: { model: "local/image", prompt: "sent after the listener closed", resolution: "64x64" } });
    const [code] = (await exited) as [number | null];
    await sleep(1000); // the survivor keeps serving
    const outcomes = await traffic.stop();
    await lb.stop();

    const t = tally(outcomes);
    const toA = sent.filter((s) => s.url === a);
    const toADuringDrain = toA.filter((s) => s.at >= sigterm && s.o.status === 202).length;
    print(
      `[chaos]   client outcomes: ${JSON.stringify(t)}; to A ${JSON.stringify(tally(toA.map((s) => s.o)))} (202 after SIGTERM: ${toADuringDrain}); A's readiness: ${lb.seen.get(a)!.join(" → ")}; listener closed ${closedAt - sigterm} ms after SIGTERM; late request: ${late.status ?? late.error}`,
    );
    expect(code).toBe(0);
    expect(Object.keys(t).filter((k) => k !== "202" && k !== "ECONNREFUSED"), JSON.stringify(t)).toEqual([]);
    // The drain: A said it was not ready while it still answered, and closed only afterwards.
    expect(lb.seen.get(a)!.slice(0, 2)).toEqual(["200", "503"]);
    expect(closedAt - sigterm).toBeGreaterThanOrEqual(DRAIN_MS - 100);
    expect(toA.filter((s) => s.o.status === 202).length).toBeGreaterThan(0);
    expect(tally(sent.filter((s) => s.url === b).map((s) => s.o))).toEqual({ "202": sent.filter((s) => s.url === b).length });
    expect(late.status, late.headers || late.error || "").toBe(202);
    expect(late.headers.toLowerCase()).toContain("connection: close");

    await allTerminal(srv, workspace_id, 120_000);
    const counts = await ledgerAudit(srv, workspace_id, "SIGTERM API under load");
    expect(counts.completed).toBe((t["202"] ?? 0) + 1);
  }, 180_000);
});
