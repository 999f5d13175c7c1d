/**
 * Money that leaves through Stripe leaves the wallet too, and a declined auto-recharge backs
 * off: signed `charge.refunded`, `charge.dispute.*` and `payment_intent.*` events delivered
 * over HTTP (signed with the real SDK's test helper), msw answering as api.stripe.com. Every
 * test ends with the ledger audit (sum(entries) == balance, reserved == open holds).
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { setupServer } from "msw/node";
import { auditWallet, credit, capture, reserve, maybeAutoRecharge } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { chargeRefundedEvent, disputeEvent, paymentIntentEvent, signedEvent, stripeMock, TEST_SECRET_KEY, TEST_WEBHOOK_SECRET } from "./wallet-stripe-mock.ts";
import { waitForJob, type JobBody } from "./polling.ts";

const stripe = stripeMock();
const mocks = setupServer(...stripe.handlers);

let srv: TestServer;
const audited = new Set<string>();

beforeAll(async () => {
  mocks.listen({
    onUnhandledRequest(request, print) {
      if (!["127.0.0.1", "localhost"].includes(new URL(request.url).hostname)) print.error();
    },
  });
  srv = await startTestServer({ env: { STRIPE_SECRET_KEY: TEST_SECRET_KEY, STRIPE_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
});
afterEach(async () => {
  stripe.reset();
  for (const ws of audited) expect((await auditWallet(srv.runtime.db, ws)).problems).toEqual([]);
});
afterAll(async () => {
  await srv?.close();
  mocks.close();
});

interface WalletBody {
  balance: { total_micros: number; available_micros: number; reserved_micros: number };
  recent_transactions: Array<{ kind: string; amount_micros: number; description: string | null }>;
  auto_recharge: {
    enabled: boolean;
    in_flight_until: string | null;
    last_failure_reason: string | null;
    last_failure_at: string | null;
    consecutive_failures: number;
    next_attempt_at: string | null;
  };
}

async function newAdmin() {
  const k = await srv.createKey({ scopes: ["admin", "read", "generate"] });
  audited.add(k.workspace_id);
  return k;
}

const getWallet = async (key: string): Promise<WalletBody> => {
  const res = await srv.request("/v1/wallet", { key });
  expect(res.status).toBe(200);
  return (await res.json()) as WalletBody;
};
const total = async (key: string) => (await getWallet(key)).balance.total_micros;

async function deliver(event: Record<string, unknown>): Promise<void> {
  const { payload, signature } = signedEvent(event);
  const res = await srv.request("/v1/webhooks/stripe", { method: "POST", body: payload, headers: { "content-type": "application/json; charset=utf-8", "stripe-signature": signature } });
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ received: true });
}

const rnd = () => Math.random().toString(36).slice(2, 12);

/** A top-up credited by its verified webhook; returns the ids a refund or dispute names. */
async function topUp(workspaceId: string, cents: number, purpose = "topup") {
  const pi = `pi_test_${rnd()}`;
  await deliver(paymentIntentEvent("payment_intent.succeeded", { id: pi, object: "payment_intent", amount: cents, currency: "usd", metadata: { workspace_id: workspaceId, purpose } }));
  return { payment_intent: pi, id: `ch_test_${rnd()}`, amount: cents };
}

const entries = (ws: string, kind: "refund_out" | "dispute") => srv.runtime.db.prisma.ledgerEntry.findMany({ where: { workspaceId: ws, kind }, orderBy: { createdAt: "asc" } });

const submit = (key: string) => srv.request("/v1/images/generate", { method: "POST", key, json: { model: "local/image", prompt: "a fox" } });

/** Runs `fn` with the server's config changed, then restores it. */
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

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("charge.refunded", () => {
  it("a partial then a full refund debit the difference each time (two debits = the charge); replays and stale totals change nothing", async () => {
    const k = await newAdmin();
    const start = await total(k.key);
    const charge = await topUp(k.workspace_id, 5000);
    expect((await total(k.key)) - start).toBe(50_000_000);

    const partial = chargeRefundedEvent(charge, [2000]);
    await deliver(partial);
    expect((await total(k.key)) - start).toBe(30_000_000);

    const full = chargeRefundedEvent(charge, [2000, 3000]);
    await deliver(full);
    expect(await total(k.key)).toBe(start);

    // Replays, and a late event carrying an older cumulative total under a new id: nothing more.
    for (let i = 0; i < 3; i++) {
      await deliver(partial);
      await deliver(full);
    }
    await Promise.all(Array.from({ length: 5 }, () => deliver(full)));
    await deliver(chargeRefundedEvent(charge, [2000]));
    expect(await total(k.key)).toBe(start);

    const debits = await entries(k.workspace_id, "refund_out");
    expect(debits.map((e) => e.amountMicros)).toEqual([-20_000_000n, -30_000_000n]);
    const topup = await srv.runtime.db.prisma.ledgerEntry.findFirstOrThrow({ where: { workspaceId: k.workspace_id, kind: "topup" } });
    expect(debits.every((e) => e.reversesEntryId === topup.id && e.stripeObjectId === charge.id)).toBe(true);
    expect(debits.map((e) => e.stripeEventId)).toEqual([partial.id, full.id]);

    // The spec's kind enum is closed: money Stripe took back shows as a signed adjustment.
    const shown = (await getWallet(k.key)).recent_transactions.filter((t) => t.description?.startsWith("Refund via Stripe"));
    expect(shown.map((t) => [t.kind, t.amount_micros])).toEqual([["adjustment", -30_000_000], ["adjustment", -20_000_000]]);
  });

  it("out of order: the full refund first, then the partial, debits the charge once", async () => {
    const k = await newAdmin();
    const start = await total(k.key);
    const charge = await topUp(k.workspace_id, 1000);
    await deliver(chargeRefundedEvent(charge, [400, 600]));
    await deliver(chargeRefundedEvent(charge, [400]));
    expect(await total(k.key)).toBe(start);
    expect((await entries(k.workspace_id, "refund_out")).map((e) => e.amountMicros)).toEqual([-10_000_000n]);
  });

  it("a refund of a charge no top-up credited is acknowledged, logged and ignored", async () => {
    const k = await newAdmin();
    const before = await total(k.key);
    await deliver(chargeRefundedEvent({ id: "ch_unknown_1", payment_intent: "pi_never_credited", amount: 5000 }, [5000]));
    const noIntent = chargeRefundedEvent({ id: "ch_unknown_2", payment_intent: "", amount: 5000 }, [5000]);
    await deliver(noIntent);
    expect(await total(k.key)).toBe(before);
    expect(await entries(k.workspace_id, "refund_out")).toHaveLength(0);
    expect(srv.logs.some((l) => l.includes("charge.refunded for a charge no top-up credited") && l.includes("ch_unknown_1"))).toBe(true);
  });
});

describe("disputes", () => {
  it("created debits the disputed amount, closed won credits it back, each once per event id", async () => {
    const k = await newAdmin();
    const start = await total(k.key);
    const charge = await topUp(k.workspace_id, 3000);
    const dispute = { id: `dp_${rnd()}`, charge: charge.id, payment_intent: charge.payment_intent, amount: 3000 };
    const created = disputeEvent("charge.dispute.created", { ...dispute, status: "needs_response" });
    await deliver(created);
    await deliver(created);
    expect(await total(k.key)).toBe(start);
    const won = disputeEvent("charge.dispute.closed", { ...dispute, status: "won" });
    await Promise.all(Array.from({ length: 4 }, () => deliver(won)));
    await deliver(created);
    expect((await total(k.key)) - start).toBe(30_000_000);
    expect((await entries(k.workspace_id, "dispute")).map((e) => e.amountMicros)).toEqual([-30_000_000n, 30_000_000n]);
  });

  it("closed lost leaves it debited; a lost dispute whose created event comes last is debited once", async () => {
    const k = await newAdmin();
    const start = await total(k.key);
    const a = await topUp(k.workspace_id, 2000);
    const da = { id: `dp_${rnd()}`, charge: a.id, payment_intent: a.payment_intent, amount: 2000 };
    await deliver(disputeEvent("charge.dispute.created", { ...da, status: "needs_response" }));
    await deliver(disputeEvent("charge.dispute.closed", { ...da, status: "lost" }));
    expect(await total(k.key)).toBe(start);

    const b = await topUp(k.workspace_id, 1500);
    const db = { id: `dp_${rnd()}`, charge: b.id, payment_intent: b.payment_intent, amount: 1500 };
    await deliver(disputeEvent("charge.dispute.closed", { ...db, status: "lost" }));
    await deliver(disputeEvent("charge.dispute.created", { ...db, status: "needs_response" }));
    expect(await total(k.key)).toBe(start);
    expect((await entries(k.workspace_id, "dispute")).map((e) => e.amountMicros)).toEqual([-20_000_000n, -15_000_000n]);

    // Won before created (out of order): nothing was withdrawn, nothing is.
    const c = await topUp(k.workspace_id, 1000);
    const dc = { id: `dp_${rnd()}`, charge: c.id, payment_intent: c.payment_intent, amount: 1000 };
    await deliver(disputeEvent("charge.dispute.closed", { ...dc, status: "won" }));
    await deliver(disputeEvent("charge.dispute.created", { ...dc, status: "needs_response" }));
    expect((await total(k.key)) - start).toBe(10_000_000);
  });

  it("never takes back more than the top-up credited (refund and dispute together); inquiries withdraw nothing", async () => {
    const k = await newAdmin();
    const start = await total(k.key);
    const charge = await topUp(k.workspace_id, 4000);
    await deliver(chargeRefundedEvent(charge, [1000]));
    const dispute = { id: `dp_${rnd()}`, charge: charge.id, payment_intent: charge.payment_intent, amount: 4000 };
    await deliver(disputeEvent("charge.dispute.created", { ...dispute, status: "needs_response" }));
    expect(await total(k.key)).toBe(start);
    const inquiry = await topUp(k.workspace_id, 1000);
    await deliver(disputeEvent("charge.dispute.created", { id: `dp_${rnd()}`, charge: inquiry.id, payment_intent: inquiry.payment_intent, amount: 1000, status: "warning_needs_response" }));
    expect((await total(k.key)) - start).toBe(10_000_000);
  });
});

describe("a negative balance", () => {
  it("refuses cost-bearing calls with 402 while negative, lets placed holds settle, and a top-up restores it", async () => {
    const k = await newAdmin();
    const trial = BigInt(await total(k.key));
    // Spend the trial, so the wallet holds only top-up money.
    await credit(srv.runtime.db, { workspaceId: k.workspace_id, kind: "adjustment", amountMicros: -trial, description: "test: trial spent" });
    const charge = await topUp(k.workspace_id, 1000);
    const jobId = randomUUID();
    await reserve(srv.runtime.db, { workspaceId: k.workspace_id, jobId, amountMicros: 3_000_000n });

    await deliver(disputeEvent("charge.dispute.created", { id: `dp_${rnd()}`, charge: charge.id, payment_intent: charge.payment_intent, amount: 1000, status: "needs_response" }));
    let w = await getWallet(k.key);
    expect(w.balance).toMatchObject({ total_micros: 0, reserved_micros: 3_000_000, available_micros: -3_000_000 });

    const refused = await submit(k.key);
    expect(refused.status).toBe(402);
    const err = ((await refused.json()) as { error: { code: string; details: { available_micros: number } } }).error;
    expect(err.code).toBe("insufficient_funds");
    expect(err.details.available_micros).toBe(-3_000_000);

    // The hold placed before settles as always, below zero.
    const settled = await capture(srv.runtime.db, { jobId, actualMicros: 2_000_000n });
    expect(settled).toMatchObject({ status: "captured", capturedMicros: 2_000_000n, alreadySettled: false });
    w = await getWallet(k.key);
    expect(w.balance).toMatchObject({ total_micros: -2_000_000, reserved_micros: 0, available_micros: -2_000_000 });
    expect((await submit(k.key)).status).toBe(402);

    // A top-up smaller than the shortfall is credited and still refuses; one more makes it positive.
    await topUp(k.workspace_id, 100);
    expect((await getWallet(k.key)).balance.available_micros).toBe(-1_000_000);
    expect((await submit(k.key)).status).toBe(402);
    await topUp(k.workspace_id, 500);
    expect((await getWallet(k.key)).balance.available_micros).toBe(4_000_000);
    const res = await submit(k.key);
    expect(res.status).toBe(202);
    expect((await waitForJob(srv, k.key, ((await res.json()) as JobBody).job_id)).status).toBe("completed");
    const stored = await srv.runtime.db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: k.workspace_id } });
    expect(stored.stripeDebtMicros).toBe(0n);
  });

  it("the database still refuses any other write that would overdraw the wallet", async () => {
    const k = await newAdmin();
    const balance = BigInt(await total(k.key));
    await expect(srv.runtime.db.prisma.wallet.update({ where: { workspaceId: k.workspace_id }, data: { reservedMicros: balance + 1n } })).rejects.toThrow(/wallets_reserved_within_balance|check/i);
  });
});

describe("declined auto-recharge backs off", () => {
  const configure = (key: string, pm: string) => srv.request("/v1/wallet/auto-recharge", { method: "POST", key, json: { enabled: true, threshold_usd: 20, amount_usd: 40, stripe_payment_method_id: pm } });
  const runJob = async (key: string) => {
    const res = await submit(key);
    expect(res.status).toBe(202);
    expect((await waitForJob(srv, key, ((await res.json()) as JobBody).job_id)).status).toBe("completed");
  };
  const BASE_S = 5;

  it("a declined card is not retried after the next job, is retried after the back-off (doubled next time), and GET /v1/wallet says why", async () => {
    const k = await newAdmin();
    expect((await configure(k.key, "pm_card_chargeDeclined")).status).toBe(200);
    await withConfig({ AUTO_RECHARGE_BACKOFF_SECONDS: BASE_S }, async () => {
      await runJob(k.key); // triggers after the submit and after the completion
      await until("the decline to be recorded", async () => (await getWallet(k.key)).auto_recharge.consecutive_failures > 0);
      await new Promise((r) => setTimeout(r, 200));
      expect(stripe.intentCalls()).toHaveLength(1);
      let status = (await getWallet(k.key)).auto_recharge;
      expect(status).toMatchObject({ enabled: true, last_failure_reason: "generic_decline", consecutive_failures: 1, in_flight_until: null });
      const next = Date.parse(status.next_attempt_at!);
      expect(next - Date.parse(status.last_failure_at!)).toBe(BASE_S * 1000);

      await runJob(k.key);
      await new Promise((r) => setTimeout(r, 200));
      expect(Date.now(), "the second job must finish inside the back-off for this check to mean anything").toBeLessThan(next);
      expect(stripe.intentCalls()).toHaveLength(1);

      await until("the back-off to pass", async () => Date.now() > next + 50, BASE_S * 1000 + 2000);
      await runJob(k.key);
      await until("the retry", async () => (await getWallet(k.key)).auto_recharge.consecutive_failures === 2);
      expect(stripe.intentCalls()).toHaveLength(2);
      status = (await getWallet(k.key)).auto_recharge;
      expect(status.last_failure_reason).toBe("generic_decline");
      expect(Date.parse(status.next_attempt_at!) - Date.parse(status.last_failure_at!)).toBe(2 * BASE_S * 1000);

      // Stripe also sends payment_intent.payment_failed for that decline: it counts once.
      const failedIntent = [...stripe.intents.values()].at(-1)!;
      await deliver(paymentIntentEvent("payment_intent.payment_failed", { ...failedIntent, last_payment_error: { type: "card_error", code: "card_declined", decline_code: "generic_decline" } }));
      expect((await getWallet(k.key)).auto_recharge.consecutive_failures).toBe(2);
    });

    // The owner reconfiguring (a new card) ends the back-off at once.
    expect((await configure(k.key, "pm_card_visa")).status).toBe(200);
    expect((await getWallet(k.key)).auto_recharge).toMatchObject({ last_failure_reason: null, last_failure_at: null, consecutive_failures: 0, next_attempt_at: null });
    const r = await maybeAutoRecharge(srv.runtime, k.workspace_id);
    expect(r.triggered).toBe(true);
    await deliver(paymentIntentEvent("payment_intent.succeeded", stripe.intents.get(r.paymentIntentId!)!));
  });

  it("a decline reported by payment_intent.payment_failed backs off too; a successful top-up resets it", async () => {
    const k = await newAdmin();
    await configure(k.key, "pm_card_visa");
    const r = await maybeAutoRecharge(srv.runtime, k.workspace_id);
    expect(r).toMatchObject({ triggered: true, status: "succeeded" });
    const intent = stripe.intents.get(r.paymentIntentId!)!;
    await deliver(paymentIntentEvent("payment_intent.payment_failed", { ...intent, last_payment_error: { type: "card_error", code: "card_declined", decline_code: "insufficient_funds" } }));
    const status = (await getWallet(k.key)).auto_recharge;
    expect(status).toMatchObject({ last_failure_reason: "insufficient_funds", consecutive_failures: 1, in_flight_until: null });
    const backoff = Date.parse(status.next_attempt_at!) - Date.parse(status.last_failure_at!);
    expect(backoff).toBe(60_000); // the default AUTO_RECHARGE_BACKOFF_SECONDS
    expect(await maybeAutoRecharge(srv.runtime, k.workspace_id)).toEqual({ triggered: false, reason: "not_needed" });
    expect(stripe.intentCalls()).toHaveLength(1);

    await topUp(k.workspace_id, 1000);
    expect((await getWallet(k.key)).auto_recharge).toMatchObject({ last_failure_reason: null, consecutive_failures: 0, next_attempt_at: null });
    const again = await maybeAutoRecharge(srv.runtime, k.workspace_id);
    expect(again.triggered).toBe(true);
    await deliver(paymentIntentEvent("payment_intent.succeeded", stripe.intents.get(again.paymentIntentId!)!));
  });
});
