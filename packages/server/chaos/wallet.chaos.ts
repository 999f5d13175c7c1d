/**
 * 1,000 reservations at once on one wallet, spread over two `aeriox serve` processes: the wallet
 * is credited a known amount through the admin path (no trial credit), the price per request is
 * known, so exactly floor(balance / price) submits are accepted and the rest answer 402
 * insufficient_funds; no reservation takes the available balance below zero (ARCHITECTURE.md,
 * Money, Hot path). A worker then runs the accepted jobs and the ledger audit closes it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdminCommand } from "@aeriox/core/admin";
import { startTestServer, type TestServer } from "../test/harness.ts";
import { killSpawned, spawnAeriox } from "../test/processes.ts";
import { allTerminal, call, ledgerAudit, tally, print } from "./helpers.ts";

const multiProcess = !!process.env.DATABASE_URL && !!process.env.REDIS_URL;
const LIMITS = { RATE_LIMIT_PER_MINUTE: "1000000", MAX_INFLIGHT_JOBS_PER_WORKSPACE: "5000", TRIAL_CREDIT_USD: "0" };
const REQUESTS = 1000;
const AFFORDABLE = 373;
let srv: TestServer;

describe.skipIf(!multiProcess)("chaos: one wallet, two API processes", () => {
  beforeAll(async () => {
    // No worker until the burst is over: a completed job could release part of its hold and fund another.
    srv = await startTestServer({ worker: false, env: LIMITS });
  }, 60_000);
  afterAll(async () => {
    killSpawned();
    await srv?.close();
  });

  it(`${REQUESTS} concurrent submits: exactly the affordable ${AFFORDABLE} accepted, the rest 402`, async () => {
    const env = { ...LIMITS, PUBLIC_URL: "", LOG_LEVEL: "error" };
    const apis = (await Promise.all([spawnAeriox(srv, "serve", env), spawnAeriox(srv, "serve", env)])).map((p) => p.url!);
    const workspace = `ws-wallet-${Date.now()}`;
    const { key, workspace_id } = await srv.createKey({ workspace });
    const job = { model: "local/image", prompt: "one of a thousand", resolution: "64x64" };
    const estimate = await call(apis[0]!, "/v1/estimate", { key, json: job });
    expect(estimate.status, JSON.stringify(estimate.body)).toBe(200);
    const priceMicros = Math.round((estimate.body!.usd as number) * 1e6);
    expect(priceMicros).toBeGreaterThan(0);
    // A known balance: AFFORDABLE prices and a remainder that buys nothing.
    const creditMicros = AFFORDABLE * priceMicros + Math.floor(priceMicros / 2);
    await runAdminCommand(srv.runtime, "wallet.credit", { workspace, usd: creditMicros / 1e6, reason: "chaos: known balance" });
    // Both processes warmed alike (route compiled, key cached, pool connections open) before the burst.
    for (const api of apis) {
      const wallet = await call(api, "/v1/wallet", { key });
      expect((wallet.body!.balance as { total_micros: number }).total_micros).toBe(creditMicros);
    }

    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => call(apis[i % 2]!, "/v1/images/generate", { key, json: { ...job, prompt: `${job.prompt} #${i}` } })));
    const elapsed = Date.now() - started;
    const t = tally(outcomes);
    const byProcess = apis.map((_, p) => tally(outcomes.filter((_, i) => i % 2 === p)));
    print(`[chaos]   price ${priceMicros} µ$, credited ${creditMicros} µ$: ${JSON.stringify(t)} in ${elapsed} ms; per process ${JSON.stringify(byProcess)}`);
    expect(t).toEqual({ "202": AFFORDABLE, "402 insufficient_funds": REQUESTS - AFFORDABLE });
    // Each process answered its half, each request accepted or refused for funds: nothing else.
    for (const p of byProcess) expect((p["202"] ?? 0) + (p["402 insufficient_funds"] ?? 0)).toBe(REQUESTS / 2);
    const after = await call(apis[0]!, "/v1/wallet", { key });
    expect((after.body!.balance as { available_micros: number }).available_micros).toBe(creditMicros - AFFORDABLE * priceMicros);

    await spawnAeriox(srv, "worker", { LOG_LEVEL: "error", WORKER_CONCURRENCY: "8" });
    await allTerminal(srv, workspace_id, 150_000);
    const counts = await ledgerAudit(srv, workspace_id, `${REQUESTS} reservations on one wallet`);
    expect(counts.completed).toBe(AFFORDABLE);
    expect(counts.balance_micros).toBeGreaterThanOrEqual(0);
  }, 240_000);
});
