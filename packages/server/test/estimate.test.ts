/**
 * `POST /v1/estimate`: price from the catalog, p95 latency from completed jobs, and every
 * applicable block reason, without reserving anything. Also the legacy `GET /v1/credits`,
 * whose figures come from the same ledger.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BreakerRegistry } from "@aeriox/core/providers";
import { auditWallet, credit } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";

const breakers = new BreakerRegistry({ failureThreshold: 2, windowMs: 60_000, coolDownMs: 600_000 });
let srv: TestServer;
let k: { key: string; workspace_id: string; key_id: string };

beforeAll(async () => {
  // A fal key is configured (estimates never call fal), so fal models are available here.
  srv = await startTestServer({ env: { PROMPT_BLOCKLIST: "forbidden,nope", FAL_KEY: "fal-test-key" }, providers: { breakers } });
  k = await srv.createKey();
});
afterAll(async () => {
  await srv?.close();
});

type Estimate = { credits: number; usd: number; estimated_seconds: number; model: string; kind?: string; would_succeed: boolean; reasons_blocked: string[]; current_balance: number; spend_cap: Record<string, number> | null };
const estimate = async (json: unknown, key = k.key): Promise<Estimate> => {
  const res = await srv.request("/v1/estimate", { method: "POST", key, json });
  expect(res.status, await res.clone().text()).toBe(200);
  return (await res.json()) as Estimate;
};

describe("POST /v1/estimate", () => {
  it("prices a known model from the catalog and commits nothing", async () => {
    const before = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: k.workspace_id } });
    const e = await estimate({ model: "fal-ai/flux/dev", prompt: "a red fox" });
    expect(e).toEqual({ credits: 2.5, usd: 0.025, estimated_seconds: 8, model: "fal-ai/flux/dev", kind: "image", would_succeed: true, reasons_blocked: [], current_balance: 5, spend_cap: null });
    const after = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: k.workspace_id } });
    expect(after).toEqual(before);
    expect(await srv.runtime.db.prisma.hold.count({ where: { workspaceId: k.workspace_id } })).toBe(0);
    expect(await srv.runtime.db.prisma.job.count({ where: { workspaceId: k.workspace_id } })).toBe(0);
  });

  it("an unknown model is a 200 with unknown_model, not an error", async () => {
    const e = await estimate({ model: "nobody/nothing", prompt: "x" });
    expect(e).toMatchObject({ would_succeed: false, reasons_blocked: ["unknown_model"], model: "nobody/nothing", usd: 0, current_balance: 5 });
    expect(e.kind).toBeUndefined();
  });

  it("prices video by duration (default from the catalog; over the maximum is 400)", async () => {
    expect((await estimate({ model: "fal-ai/kling-3.0", prompt: "waves", duration: 10 })).usd).toBe(1);
    expect(await estimate({ model: "fal-ai/kling-3.0", prompt: "waves" })).toMatchObject({ usd: 0.5, credits: 50, kind: "video", estimated_seconds: 120 });
    const tooLong = await srv.request("/v1/estimate", { method: "POST", key: k.key, json: { model: "fal-ai/kling-3.0", prompt: "waves", duration: 20 } });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { code: string } }).error.code).toBe("duration_too_long");
    const bad = await srv.request("/v1/estimate", { method: "POST", key: k.key, json: { model: "fal-ai/kling-3.0", prompt: "" } });
    expect(bad.status).toBe(400);
  });

  it("reports insufficient_credits, prompt_blocked and spend_cap_exceeded together", async () => {
    const poor = await srv.createKey({ daily_spend_cap_usd: 0.5 });
    await credit(srv.runtime.db, { workspaceId: poor.workspace_id, kind: "adjustment", amountMicros: -4_900_000n, description: "test: leave $0.10" });
    const e = await estimate({ model: "fal-ai/kling-3.0", prompt: "a FORBIDDEN shore", duration: 10 }, poor.key);
    expect(e.would_succeed).toBe(false);
    expect(e.reasons_blocked.sort()).toEqual(["insufficient_credits", "prompt_blocked", "spend_cap_exceeded"]);
    expect(e.current_balance).toBe(0.1);
    expect(e.spend_cap).toEqual({ daily_cap_usd: 0.5, spent_24h_usd: 0, remaining_usd: 0.5 });
    // Within budget and cap: succeeds.
    expect(await estimate({ model: "local/image", prompt: "a calm shore" }, poor.key)).toMatchObject({ would_succeed: true, reasons_blocked: [] });
    expect((await auditWallet(srv.runtime.db, poor.workspace_id)).problems).toEqual([]);
  });

  it("the spend cap counts held and captured spend of the key", async () => {
    const capped = await srv.createKey({ daily_spend_cap_usd: 0.0003 });
    const res = await srv.request("/v1/images/generate", { method: "POST", key: capped.key, json: { model: "local/image", prompt: "one" } });
    expect(res.status).toBe(202);
    const e = await estimate({ model: "local/image", prompt: "two" }, capped.key);
    expect(e.spend_cap).toEqual({ daily_cap_usd: 0.0003, spent_24h_usd: 0.0001, remaining_usd: 0.0002 });
    expect(e.would_succeed).toBe(true);
    const big = await estimate({ model: "fal-ai/flux/schnell", prompt: "two" }, capped.key);
    expect(big.reasons_blocked).toEqual(["spend_cap_exceeded"]);
  });

  it("reports circuit_open while the provider's breaker is open", async () => {
    const breaker = breakers.breakerFor("fal");
    for (let i = 0; i < 3; i++) breaker.recordFailure();
    expect(srv.runtime.providers.isCircuitOpen("fal")).toBe(true);
    const e = await estimate({ model: "fal-ai/flux/schnell", prompt: "a fox" });
    expect(e).toMatchObject({ would_succeed: false, reasons_blocked: ["circuit_open"] });
    expect((await estimate({ model: "local/image", prompt: "a fox" })).would_succeed).toBe(true);
    breaker.recordSuccess();
  });

  it("estimated_seconds is the p95 of the last 200 completed jobs once there are 20", async () => {
    const model = "local/video";
    const seed = (ms: number[], completedAt: (i: number) => Date) =>
      srv.runtime.db.prisma.job.createMany({
        data: ms.map((durationMs, i) => ({
          id: randomUUID(),
          workspaceId: k.workspace_id,
          type: "video" as const,
          status: "completed" as const,
          model,
          operationId: "video.local/video",
          provider: "local",
          input: {},
          estimatedCostMicros: 200n,
          chargedCostMicros: 200n,
          deadlineAt: new Date(),
          completedAt: completedAt(i),
          durationMs,
        })),
      });
    expect((await estimate({ model, prompt: "x" })).estimated_seconds).toBe(2); // catalog typical latency
    await seed(Array.from({ length: 19 }, (_, i) => (i + 1) * 1000), () => new Date());
    expect((await estimate({ model, prompt: "x" })).estimated_seconds).toBe(2); // 19 samples: not enough
    await seed([20_000], () => new Date());
    // 1..20 s → nearest-rank p95 = 19 s.
    expect((await estimate({ model, prompt: "x" })).estimated_seconds).toBe(19);
    // 200 newer, faster jobs push the old ones out of the window: 1.000..1.199 s → p95 = 1.189 s.
    await seed(Array.from({ length: 200 }, (_, i) => 1000 + i), (i) => new Date(Date.now() + 60_000 + i));
    expect((await estimate({ model, prompt: "x" })).estimated_seconds).toBe(1.189);
  });
});

describe("GET /v1/credits (deprecated)", () => {
  it("derives the legacy figures from the ledger", async () => {
    const c = await srv.createKey({ daily_spend_cap_usd: 2 });
    await credit(srv.runtime.db, { workspaceId: c.workspace_id, kind: "topup", amountMicros: 25_000_000n, stripeEventId: `evt_${randomUUID()}` });
    const gen = await srv.request("/v1/images/generate", { method: "POST", key: c.key, json: { model: "local/image", prompt: "one" } });
    expect(gen.status).toBe(202);
    const res = await srv.request("/v1/credits", { key: c.key });
    expect(res.status).toBe(200);
    expect(res.headers.get("deprecation")).toBe("true");
    const body = (await res.json()) as Record<string, any>;
    const w = ((await (await srv.request("/v1/wallet", { key: c.key })).json()) as { balance: { available_micros: number } }).balance;
    expect(body.plan).toBe("prepaid");
    expect(body.credits).toEqual({ balance: w.available_micros / 10_000, monthly_grant: 0, purchased: 2500 });
    expect(body.api_key_24h_spend_usd).toBe(0.0001);
    expect(body.api_key_daily_cap_usd).toBe(2);
    expect(body.image.prices.find((p: { model: string }) => p.model === "fal-ai/flux/dev")).toMatchObject({ usd: 0.025, credits: 2.5 });
    expect(body.video.unit).toBe("second");
    expect((await auditWallet(srv.runtime.db, c.workspace_id)).problems).toEqual([]);
  });
});
