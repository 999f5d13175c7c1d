/**
 * msw handlers answering as Stripe's HTTP API does for what the wallet uses:
 *   POST https://api.stripe.com/v1/customers        form-encoded, metadata[workspace_id]
 *   POST https://api.stripe.com/v1/payment_intents  form-encoded amount, currency, customer,
 *        payment_method, confirm, off_session, metadata[...]
 * Bearer secret key required (401 invalid_request_error otherwise); `Idempotency-Key`
 * honoured (same key → the first response again, as Stripe does for 24 h). Errors are
 * `{error: {type, code, decline_code, message, payment_intent?}}` with Stripe's statuses.
 * Test payment methods behave like Stripe's test cards:
 *   pm_card_visa                     → succeeded
 *   pm_card_chargeDeclined           → 402 card_error card_declined / generic_decline
 *   pm_card_chargeDeclinedInsufficientFunds → 402 card_declined / insufficient_funds
 *   pm_card_threeDSecure2Required    → 200 requires_action (next_action use_stripe_sdk)
 *   pm_card_authenticationRequired   → off_session: 402 authentication_required with the intent in requires_action
 */
import { randomBytes } from "node:crypto";
import { delay, http, HttpResponse } from "msw";
import { loadStripe } from "@aeriox/core/wallet";

// The SDK is imported on first use in core (wallet/stripe/client.ts); signing test payloads needs it now.
const Stripe = await loadStripe();

export const STRIPE_API = "https://api.stripe.com";
export const TEST_SECRET_KEY = "sk_test_51AerioxWalletTestsDoNotUse0000000000";
export const TEST_WEBHOOK_SECRET = "whsec_aeriox_wallet_test_secret_0123456789";

const rid = (prefix: string) => `${prefix}_${randomBytes(12).toString("hex")}`;

export interface StripeCall {
  path: string;
  form: Record<string, string>;
  idempotencyKey: string | null;
}

export interface StripeMock {
  handlers: ReturnType<typeof http.post>[];
  calls: StripeCall[];
  customers: Map<string, Record<string, unknown>>;
  intents: Map<string, Record<string, unknown>>;
  /** Delay (ms) before answering, to widen race windows. */
  latencyMs: number;
  reset(): void;
  intentCalls(): StripeCall[];
  customerCalls(): StripeCall[];
}

function formOf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(text)) out[k] = v;
  return out;
}

function metadataOf(form: Record<string, string>): Record<string, string> {
  const md: Record<string, string> = {};
  for (const [k, v] of Object.entries(form)) {
    const m = /^metadata\[(.+)\]$/.exec(k);
    if (m) md[m[1]!] = v;
  }
  return md;
}

function stripeError(status: number, error: Record<string, unknown>) {
  return HttpResponse.json({ error }, { status, headers: { "request-id": rid("req") } });
}

export function stripeMock(): StripeMock {
  const calls: StripeCall[] = [];
  const customers = new Map<string, Record<string, unknown>>();
  const intents = new Map<string, Record<string, unknown>>();
  const idempotent = new Map<string, { status: number; body: unknown }>();
  const mock: StripeMock = {
    handlers: [],
    calls,
    customers,
    intents,
    latencyMs: 0,
    reset() {
      // Customers outlive a test, as they do at Stripe (the database keeps their ids).
      calls.length = 0;
      intents.clear();
      idempotent.clear();
      mock.latencyMs = 0;
    },
    intentCalls: () => calls.filter((c) => c.path === "/v1/payment_intents"),
    customerCalls: () => calls.filter((c) => c.path === "/v1/customers"),
  };

  const wrap = (path: string, answer: (form: Record<string, string>) => { status: number; body: unknown }) =>
    http.post(`${STRIPE_API}${path}`, async ({ request }) => {
      const auth = request.headers.get("authorization");
      if (auth !== `Bearer ${TEST_SECRET_KEY}`) {
        return stripeError(401, { type: "invalid_request_error", message: "Invalid API Key provided: sk_test_****0000" });
      }
      if (!request.headers.get("content-type")?.startsWith("application/x-www-form-urlencoded")) {
        return stripeError(400, { type: "invalid_request_error", message: "Invalid request (check your POST parameters)" });
      }
      const form = formOf(await request.text());
      const key = request.headers.get("idempotency-key");
      calls.push({ path, form, idempotencyKey: key });
      if (mock.latencyMs) await delay(mock.latencyMs);
      const cacheKey = key ? `${path} ${key}` : null;
      let result = cacheKey ? idempotent.get(cacheKey) : undefined;
      if (!result) {
        result = answer(form);
        if (cacheKey) idempotent.set(cacheKey, result);
      }
      return HttpResponse.json(result.body as Record<string, unknown>, { status: result.status, headers: { "request-id": rid("req"), ...(key ? { "idempotency-key": key } : {}) } });
    });

  const customerHandler = wrap("/v1/customers", (form) => {
    const customer = { id: rid("cus"), object: "customer", created: Math.floor(Date.now() / 1000), livemode: false, description: form.description ?? null, metadata: metadataOf(form) };
    customers.set(customer.id, customer);
    return { status: 200, body: customer };
  });

  const intentHandler = wrap("/v1/payment_intents", (form) => {
    const amount = Number(form.amount);
    if (!Number.isInteger(amount) || amount < 50) {
      return { status: 400, body: { error: { type: "invalid_request_error", code: "amount_too_small", param: "amount", message: "Amount must be at least $0.50 usd" } } };
    }
    if (form.customer && !customers.has(form.customer)) {
      return { status: 400, body: { error: { type: "invalid_request_error", code: "resource_missing", param: "customer", message: `No such customer: '${form.customer}'` } } };
    }
    const id = rid("pi");
    const intent: Record<string, unknown> = {
      id,
      object: "payment_intent",
      amount,
      amount_received: 0,
      currency: form.currency,
      customer: form.customer ?? null,
      client_secret: `${id}_secret_${randomBytes(8).toString("hex")}`,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      metadata: metadataOf(form),
      payment_method: form.payment_method ?? null,
      status: "requires_payment_method",
      next_action: null,
      last_payment_error: null,
    };
    intents.set(id, intent);
    const pm = form.payment_method;
    if (form.confirm !== "true" || !pm) return { status: 200, body: intent };
    const declined = (decline: string) => {
      intent.status = "requires_payment_method";
      intent.last_payment_error = { type: "card_error", code: "card_declined", decline_code: decline, message: "Your card was declined." };
      return { status: 402, body: { error: { type: "card_error", code: "card_declined", decline_code: decline, message: "Your card was declined.", payment_intent: intent, request_log_url: "https://dashboard.stripe.com/test/logs/req_x" } } };
    };
    const nextAction = { type: "use_stripe_sdk", use_stripe_sdk: { type: "three_d_secure_redirect", stripe_js: "https://hooks.stripe.com/3d_secure_2/hosted" } };
    switch (pm) {
      case "pm_card_chargeDeclined":
        return declined("generic_decline");
      case "pm_card_chargeDeclinedInsufficientFunds":
        return declined("insufficient_funds");
      case "pm_card_threeDSecure2Required":
        Object.assign(intent, { status: "requires_action", next_action: nextAction });
        return { status: 200, body: intent };
      case "pm_card_authenticationRequired":
        if (form.off_session === "true") {
          Object.assign(intent, { status: "requires_action", next_action: nextAction });
          return {
            status: 402,
            body: { error: { type: "card_error", code: "authentication_required", decline_code: "authentication_required", message: "Your card was declined. This transaction requires authentication.", payment_intent: intent } },
          };
        }
        Object.assign(intent, { status: "requires_action", next_action: nextAction });
        return { status: 200, body: intent };
      default:
        Object.assign(intent, { status: "succeeded", amount_received: amount });
        return { status: 200, body: intent };
    }
  });
  mock.handlers.push(customerHandler, intentHandler);
  return mock;
}

/** A Stripe event as Stripe sends it, signed the way Stripe signs it. */
export function signedEvent(event: Record<string, unknown>, secret = TEST_WEBHOOK_SECRET): { payload: string; signature: string } {
  const payload = JSON.stringify(event, null, 2);
  return { payload, signature: Stripe.webhooks.generateTestHeaderString({ payload, secret }) };
}

export function paymentIntentEvent(type: "payment_intent.succeeded" | "payment_intent.payment_failed", intent: Record<string, unknown>, id = rid("evt")): Record<string, unknown> {
  return {
    id,
    object: "event",
    api_version: "2025-01-27.acacia",
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: rid("req"), idempotency_key: null },
    type,
    data: { object: { ...intent, ...(type === "payment_intent.succeeded" ? { status: "succeeded", amount_received: intent.amount } : { status: "requires_payment_method" }) } },
  };
}

function eventEnvelope(type: string, object: Record<string, unknown>, id = rid("evt")): Record<string, unknown> {
  return { id, object: "event", api_version: "2025-01-27.acacia", created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1, request: { id: rid("req"), idempotency_key: null }, type, data: { object } };
}

/**
 * `charge.refunded` as Stripe sends it: the Charge with `amount_refunded` cumulative over all
 * its refunds so far, `refunded` true once fully refunded, and the refunds list (newest first;
 * recent API versions include it only when expanded, so the handler must not need it).
 */
export function chargeRefundedEvent(charge: { id: string; payment_intent: string; amount: number }, refunds: number[], id?: string): Record<string, unknown> {
  const refunded = refunds.reduce((a, b) => a + b, 0);
  const data = refunds.map((amount) => ({ id: rid("re"), object: "refund", amount, charge: charge.id, currency: "usd", payment_intent: charge.payment_intent, status: "succeeded" })).reverse();
  return eventEnvelope(
    "charge.refunded",
    {
      id: charge.id,
      object: "charge",
      amount: charge.amount,
      amount_captured: charge.amount,
      amount_refunded: refunded,
      captured: true,
      currency: "usd",
      paid: true,
      payment_intent: charge.payment_intent,
      refunded: refunded >= charge.amount,
      status: "succeeded",
      metadata: {},
      refunds: { object: "list", data, has_more: false, total_count: data.length, url: `/v1/charges/${charge.id}/refunds` },
    },
    id,
  );
}

/** `charge.dispute.created` / `charge.dispute.closed`: the Dispute (amount in cents, status). */
export function disputeEvent(
  type: "charge.dispute.created" | "charge.dispute.closed",
  dispute: { id: string; charge: string; payment_intent: string | null; amount: number; status: string },
  id?: string,
): Record<string, unknown> {
  return eventEnvelope(type, { object: "dispute", currency: "usd", reason: "fraudulent", is_charge_refundable: false, livemode: false, metadata: {}, balance_transactions: [], created: Math.floor(Date.now() / 1000), ...dispute }, id);
}
