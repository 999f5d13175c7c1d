/**
 * Stripe top-ups, the signed webhook that credits them, and auto-recharge, through the
 * real `stripe` SDK against msw handlers that answer as api.stripe.com does. Every test
 * ends with the ledger audit (sum(entries) == balance, reserved == open holds).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { auditWallet, maybeAutoRecharge, triggerAutoRecharge } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { paymentIntentEvent, signedEvent, stripeMock, TEST_SECRET_KEY, TEST_WEBHOOK_SECRET } from "./wallet-stripe-mock.ts";
import { waitForJob, type JobBody } from "./polling.ts";

const stripe = stripeMock();
const mocks = setupServer(...stripe.handlers);

let srv: TestServer;
let admin: { key: string; workspace_id: string };
const audited = new Set<string>();

beforeAll(async () => {
  mocks.listen({
    onUnhandledRequest(request, print) {
      if (!["127.0.0.1", "localhost"].includes(new URL(request.url).hostname)) print.error();
    },
  });
  srv = await startTestServer({ env: { STRIPE_SECRET_KEY: TEST_SECRET_KEY, STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
  admin = await newAdmin();
});
afterEach(async () => {
  stripe.reset();
  for (const ws of audited) expect((await auditWallet(srv.runtime.db, ws)).problems).toEqual([]);
});
afterAll(async () => {
  await srv?.close();
  mocks.close();
});

async function newAdmin(o: { daily_spend_cap_usd?: number } = {}) {
  const k = await srv.createKey({ scopes: ["admin", "read", "generate"], ...o });
  audited.add(k.workspace_id);
  return k;
}

const topup = (json: unknown, key = admin.key, headers: Record<string, string> = {}) => srv.request("/v1/wallet/topup", { method: "POST", key, json, headers });
const wallet = async (key: string) => ((await (await srv.request("/v1/wallet", { key })).json()) as { balance: { total_micros: number; available_micros: number } }).balance;
const deliver = (payload: string, signature?: string) =>
  srv.request("/v1/webhooks/stripe", { method: "POST", body: payload, headers: { "content-type": "application/json; charset=utf-8", ...(signature ? { "stripe-signature": signature } : {}) } });
const ledgerTopups = (ws: string) => srv.runtime.db.prisma.ledgerEntry.findMany({ where: { workspaceId: ws, kind: "topup" } });

/** Runs `fn` with the server's config changed (e.g. a missing secret), then restores it. */
async function withConfig<T>(patch: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  const config = srv.runtime.config as unknown as Record<string, unknown>;
  const saved = Object.fromEntries(Object.keys(patch).map((k) => [k, config[k]]));
  Object.assign(config, patch);
  try {
    return await fn();
  } finally {
    Object.assign(config, saved);
  }
}

describe("POST /v1/wallet/topup", () => {
  it("creates the customer once and a PaymentIntent in cents; returns the client_secret; credits nothing", async () => {
    const before = await wallet(admin.key);
    const res = await topup({ amount_usd: 25 });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;
    expect(body).toMatchObject({ status: "requires_payment_method", amount_usd: 25, next_action: null });
    expect(body.client_secret).toMatch(/^pi_\w+_secret_\w+$/);
    expect(stripe.customerCalls()).toHaveLength(1);
    expect(stripe.customerCalls()[0]!.form["metadata[workspace_id]"]).toBe(admin.workspace_id);
    const [pi] = stripe.intentCalls();
    expect(pi!.form).toMatchObject({ amount: "2500", currency: "usd", "metadata[workspace_id]": admin.workspace_id, "metadata[purpose]": "topup" });
    expect(pi!.form.confirm).toBeUndefined();
    const stored = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: admin.workspace_id } });
    expect(stored.stripeCustomerId).toBe(pi!.form.customer);
    expect(await wallet(admin.key)).toEqual(before);

    // The second top-up reuses the stored customer.
    expect((await topup({ amount_usd: 5 })).status).toBe(200);
    expect(stripe.customerCalls()).toHaveLength(1);
    expect(stripe.intentCalls()[1]!.form.customer).toBe(stored.stripeCustomerId);
  });

  it("concurrent first top-ups of a workspace make one Stripe customer", async () => {
    const fresh = await newAdmin();
    stripe.latencyMs = 30;
    const results = await Promise.all(Array.from({ length: 8 }, () => topup({ amount_usd: 10 }, fresh.key)));
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect([...stripe.customers.values()].filter((c) => (c.metadata as Record<string, string>).workspace_id === fresh.workspace_id)).toHaveLength(1);
    const customerIds = new Set(stripe.intentCalls().map((c) => c.form.customer));
    expect(customerIds.size).toBe(1);
    const stored = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: fresh.workspace_id } });
    expect(stored.stripeCustomerId).toBe([...customerIds][0]);
  });

  it("confirms off-session with a saved payment method", async () => {
    const res = await topup({ amount_usd: 12.34, payment_method_id: "pm_card_visa" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "succeeded", amount_usd: 12.34 });
    expect(stripe.intentCalls()[0]!.form).toMatchObject({ amount: "1234", payment_method: "pm_card_visa", confirm: "true", off_session: "true" });
  });

  it("requires_action answers 200 with next_action (3-D Secure, and off-session authentication_required)", async () => {
    for (const pm of ["pm_card_threeDSecure2Required", "pm_card_authenticationRequired"]) {
      const res = await topup({ amount_usd: 50, payment_method_id: pm });
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, any>;
      expect(body.status).toBe("requires_action");
      expect(body.next_action.type).toBe("use_stripe_sdk");
      expect(body.client_secret).toBeTruthy();
    }
  });

  it("a declined card is a 502 stripe_error with Stripe's code and decline code, never the secret", async () => {
    for (const [pm, decline] of [["pm_card_chargeDeclined", "generic_decline"], ["pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"]] as const) {
      const res = await topup({ amount_usd: 20, payment_method_id: pm });
      expect(res.status).toBe(502);
      const text = await res.text();
      expect(text).not.toContain(TEST_SECRET_KEY);
      const body = JSON.parse(text) as { error: { code: string; message: string; details: Record<string, unknown> } };
      expect(body.error.code).toBe("stripe_error");
      expect(body.error.message).toBe("Your card was declined.");
      expect(body.error.details).toMatchObject({ stripe_type: "card_error", stripe_code: "card_declined", decline_code: decline, stripe_status: 402 });
    }
    // maxNetworkRetries: 1 does not retry a 402.
    expect(stripe.intentCalls()).toHaveLength(2);
    expect(srv.logs.join("")).not.toContain(TEST_SECRET_KEY);
  });

  it("Idempotency-Key: the same request is answered once, and Stripe gets a derived idempotency key", async () => {
    const a = await topup({ amount_usd: 7 }, admin.key, { "idempotency-key": "topup-1" });
    const b = await topup({ amount_usd: 7 }, admin.key, { "idempotency-key": "topup-1" });
    expect(b.headers.get("idempotent-replayed")).toBe("true");
    expect(await b.json()).toEqual(await a.json());
    expect(stripe.intentCalls()).toHaveLength(1);
    expect(stripe.intentCalls()[0]!.idempotencyKey).toMatch(/^aeriox-topup-[0-9a-f]{40}$/);
    expect((await topup({ amount_usd: 8 }, admin.key, { "idempotency-key": "topup-1" })).status).toBe(409);
  });

  it("refuses amounts out of range, fractional cents, and callers without admin scope", async () => {
    for (const amount_usd of [4.99, 1000.01, 0, -5]) expect((await topup({ amount_usd })).status).toBe(400);
    const cents = await topup({ amount_usd: 10.005 });
    expect(cents.status).toBe(400);
    expect(((await cents.json()) as { error: { message: string } }).error.message).toContain("cents");
    expect((await topup({})).status).toBe(400);
    const reader = await srv.createKey({ workspace: admin.workspace_id, scopes: ["read"] });
    expect((await topup({ amount_usd: 10 }, reader.key)).status).toBe(403);
    expect(stripe.calls).toHaveLength(0);
  });

  it("without STRIPE_SECRET_KEY: 400 stripe_not_configured, and nothing reaches Stripe", async () => {
    const res = await withConfig({ STRIPE_SECRET_KEY: undefined }, () => topup({ amount_usd: 10 }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("stripe_not_configured");
    expect(stripe.calls).toHaveLength(0);
  });
});

describe("POST /v1/webhooks/stripe", () => {
  const intentFor = (ws: string, cents: number, purpose = "topup") => ({ id: `pi_test_${Math.random().toString(36).slice(2)}`, object: "payment_intent", amount: cents, currency: "usd", metadata: { workspace_id: ws, purpose } });

  it("credits a payment_intent.succeeded exactly once, however often (and concurrently) it is delivered", async () => {
    const k = await newAdmin();
    const before = await wallet(k.key);
    const event = paymentIntentEvent("payment_intent.succeeded", intentFor(k.workspace_id, 2500));
    const { payload, signature } = signedEvent(event);
    const timings: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      const res = await deliver(payload, signature);
      timings.push(performance.now() - t0);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true });
    }
    const concurrent = await Promise.all(Array.from({ length: 10 }, () => deliver(payload, signature)));
    expect(concurrent.map((r) => r.status)).toEqual(Array(10).fill(200));
    const after = await wallet(k.key);
    expect(after.total_micros - before.total_micros).toBe(25_000_000);
    expect(await ledgerTopups(k.workspace_id)).toHaveLength(1);
    expect(await srv.runtime.db.prisma.stripeEvent.count({ where: { id: event.id as string } })).toBe(1);
    console.log(`webhook latency: first ${timings[0]!.toFixed(1)} ms, replays median ${timings.slice(1).sort((a, b) => a - b)[4]!.toFixed(1)} ms`);

    // A second, distinct success event for the same intent credits nothing more.
    const again = signedEvent(paymentIntentEvent("payment_intent.succeeded", (event.data as { object: Record<string, unknown> }).object));
    expect((await deliver(again.payload, again.signature)).status).toBe(200);
    expect((await wallet(k.key)).total_micros).toBe(after.total_micros);
  });

  it("concurrent first deliveries of a new event credit once", async () => {
    const k = await newAdmin();
    const before = await wallet(k.key);
    const { payload, signature } = signedEvent(paymentIntentEvent("payment_intent.succeeded", intentFor(k.workspace_id, 1000)));
    const res = await Promise.all(Array.from({ length: 20 }, () => deliver(payload, signature)));
    expect(res.every((r) => r.status === 200)).toBe(true);
    expect((await wallet(k.key)).total_micros - before.total_micros).toBe(10_000_000);
  });

  it("a bad, stale, missing or foreign signature is 400 and credits nothing", async () => {
    const k = await newAdmin();
    const before = await wallet(k.key);
    const event = paymentIntentEvent("payment_intent.succeeded", intentFor(k.workspace_id, 5000));
    const good = signedEvent(event);
    const wrongSecret = signedEvent(event, "whsec_someone_else");
    const tampered = good.payload.replace('"amount": 5000', '"amount": 500000');
    const stale = `t=${Math.floor(Date.now() / 1000) - 3600},${good.signature.split(",")[1]}`;
    for (const [payload, sig, code] of [
      [good.payload, wrongSecret.signature, "invalid_signature"],
      [tampered, good.signature, "invalid_signature"],
      [good.payload, stale, "invalid_signature"],
      [good.payload, "t=1,v1=deadbeef", "invalid_signature"],
    ] as const) {
      const res = await deliver(payload, sig);
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(JSON.parse(text).error.code).toBe(code);
      expect(text).not.toContain(TEST_WEBHOOK_SECRET);
    }
    expect((await deliver(good.payload)).status).toBe(400);
    const unconfigured = await withConfig({ STRIPE_WEBHOOK_SECRET: undefined }, () => deliver(good.payload, good.signature));
    expect(unconfigured.status).toBe(400);
    expect(await wallet(k.key)).toEqual(before);
    expect(await ledgerTopups(k.workspace_id)).toHaveLength(0);
    expect(srv.logs.join("")).not.toContain(TEST_WEBHOOK_SECRET);
  });

  it("acknowledges and ignores other event types and intents of no workspace", async () => {
    const k = await newAdmin();
    const before = await wallet(k.key);
    const others = [
      { id: "evt_other_1", object: "event", type: "customer.created", data: { object: { id: "cus_1", object: "customer", metadata: { workspace_id: k.workspace_id } } } },
      { id: "evt_other_2", object: "event", type: "charge.succeeded", data: { object: { id: "ch_1", object: "charge", amount: 9900, metadata: { workspace_id: k.workspace_id } } } },
      { ...paymentIntentEvent("payment_intent.succeeded", intentFor(k.workspace_id, 9900)), id: "evt_other_3", type: "payment_intent.created" },
      paymentIntentEvent("payment_intent.succeeded", { id: "pi_nows", object: "payment_intent", amount: 9900, metadata: {} }),
      paymentIntentEvent("payment_intent.succeeded", intentFor("00000000-0000-4000-8000-000000000000", 9900)),
    ];
    for (const e of others) {
      const { payload, signature } = signedEvent(e);
      const res = await deliver(payload, signature);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ received: true });
    }
    expect(await wallet(k.key)).toEqual(before);
  });
});

describe("auto-recharge", () => {
  const configure = (json: unknown, key = admin.key) => srv.request("/v1/wallet/auto-recharge", { method: "POST", key, json });
  const marker = async (ws: string) => (await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws } })).autoRechargeInFlightUntil;

  it("stores, clears and validates the configuration", async () => {
    const on = await configure({ enabled: true, threshold_usd: 10, amount_usd: 50, stripe_payment_method_id: "pm_card_visa" });
    expect(on.status).toBe(200);
    expect(await on.json()).toEqual({ enabled: true, threshold_usd: 10, amount_usd: 50 });
    const w = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: admin.workspace_id } });
    expect(w).toMatchObject({ autoRechargeEnabled: true, autoRechargeThresholdMicros: 10_000_000n, autoRechargeAmountMicros: 50_000_000n, autoRechargePaymentMethodId: "pm_card_visa" });

    const missing = await configure({ enabled: true, threshold_usd: 10 });
    expect(missing.status).toBe(400);
    const err = ((await missing.json()) as { error: { code: string; message: string; details: { fields: Array<{ field: string }> } } }).error;
    expect(err.code).toBe("invalid_request");
    expect(err.message).toContain("amount_usd");
    expect(err.message).toContain("stripe_payment_method_id");
    console.log(`auto-recharge missing-fields message: ${err.message}`);

    for (const bad of [
      { enabled: true, threshold_usd: 0.5, amount_usd: 50, stripe_payment_method_id: "pm_card_visa" },
      { enabled: true, threshold_usd: 10, amount_usd: 501, stripe_payment_method_id: "pm_card_visa" },
      { enabled: true, threshold_usd: 10, amount_usd: 20.001, stripe_payment_method_id: "pm_card_visa" },
      { enabled: "yes" },
      {},
    ]) {
      expect((await configure(bad)).status, JSON.stringify(bad)).toBe(400);
    }
    const off = await configure({ enabled: false });
    expect(off.status).toBe(200);
    expect(await off.json()).toEqual({ enabled: false });
    const cleared = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: admin.workspace_id } });
    expect(cleared).toMatchObject({ autoRechargeEnabled: false, autoRechargeThresholdMicros: null, autoRechargeAmountMicros: null, autoRechargePaymentMethodId: null });
  });

  it("20 concurrent triggers start exactly one off-session PaymentIntent; the webhook credits it and clears the marker", async () => {
    const k = await newAdmin();
    expect((await configure({ enabled: true, threshold_usd: 20, amount_usd: 40, stripe_payment_method_id: "pm_card_visa" }, k.key)).status).toBe(200);
    stripe.latencyMs = 40;
    const results = await Promise.all(Array.from({ length: 20 }, () => maybeAutoRecharge(srv.runtime, k.workspace_id)));
    const started = results.filter((r) => r.triggered);
    console.log(`single-flight: ${started.length} of 20 triggers started a recharge; Stripe saw ${stripe.intentCalls().length} PaymentIntent(s)`);
    expect(started).toHaveLength(1);
    expect(stripe.intentCalls()).toHaveLength(1);
    expect(stripe.intentCalls()[0]!.form).toMatchObject({ amount: "4000", confirm: "true", off_session: "true", payment_method: "pm_card_visa", "metadata[purpose]": "auto_recharge", "metadata[workspace_id]": k.workspace_id });
    expect(await marker(k.workspace_id)).not.toBeNull();
    expect((await maybeAutoRecharge(srv.runtime, k.workspace_id)).triggered).toBe(false);

    const before = await wallet(k.key);
    const intent = stripe.intents.get(started[0]!.paymentIntentId!)!;
    const { payload, signature } = signedEvent(paymentIntentEvent("payment_intent.succeeded", intent));
    expect((await deliver(payload, signature)).status).toBe(200);
    expect((await wallet(k.key)).total_micros - before.total_micros).toBe(40_000_000);
    expect(await marker(k.workspace_id)).toBeNull();
    // Balance 45 ≥ threshold 20: nothing to do.
    expect(await maybeAutoRecharge(srv.runtime, k.workspace_id)).toEqual({ triggered: false, reason: "not_needed" });
    expect(stripe.intentCalls()).toHaveLength(1);
  });

  it("a declined recharge clears the marker (logged), so a later trigger tries again; payment_failed clears it too", async () => {
    const k = await newAdmin();
    await configure({ enabled: true, threshold_usd: 20, amount_usd: 40, stripe_payment_method_id: "pm_card_chargeDeclined" }, k.key);
    expect(await maybeAutoRecharge(srv.runtime, k.workspace_id)).toEqual({ triggered: false, reason: "stripe_error" });
    expect(await marker(k.workspace_id)).toBeNull();
    expect(srv.logs.some((l) => l.includes("auto-recharge failed") && l.includes("card_declined"))).toBe(true);

    // Succeeds at Stripe's API but fails later (webhook payment_failed).
    await configure({ enabled: true, threshold_usd: 20, amount_usd: 40, stripe_payment_method_id: "pm_card_visa" }, k.key);
    const r = await maybeAutoRecharge(srv.runtime, k.workspace_id);
    expect(r.triggered).toBe(true);
    expect(await marker(k.workspace_id)).not.toBeNull();
    const { payload, signature } = signedEvent(paymentIntentEvent("payment_intent.payment_failed", stripe.intents.get(r.paymentIntentId!)!));
    expect((await deliver(payload, signature)).status).toBe(200);
    expect(await marker(k.workspace_id)).toBeNull();
    expect(await ledgerTopups(k.workspace_id)).toHaveLength(0);
  });

  it("the jobs engine triggers it after a job (fire-and-forget) and never fails the job", async () => {
    const k = await newAdmin();
    await configure({ enabled: true, threshold_usd: 20, amount_usd: 40, stripe_payment_method_id: "pm_card_visa" }, k.key);
    const res = await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: { model: "local/image", prompt: "a fox" } });
    expect(res.status).toBe(202);
    const job = await waitForJob(srv, k.key, ((await res.json()) as JobBody).job_id);
    expect(job.status).toBe("completed");
    const deadline = Date.now() + 5000;
    while (stripe.intentCalls().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stripe.intentCalls()).toHaveLength(1);
    triggerAutoRecharge(srv.runtime, k.workspace_id); // no-op while in flight
    await new Promise((r) => setTimeout(r, 200));
    expect(stripe.intentCalls()).toHaveLength(1);
  });
});
