/**
 * `POST /v1/wallet/topup`: a PaymentIntent against the workspace's Stripe customer.
 * Nothing is credited here: only the verified webhook credits (see webhook.ts).
 */
import { createHash } from "node:crypto";
import type Stripe from "stripe";
import type { Runtime } from "../../runtime.ts";
import { ensureStripeCustomer } from "./customers.ts";
import { isStripeError, requireStripe, stripeApiError, usdToCents } from "./client.ts";

export type StripeServices = Pick<Runtime, "db" | "config" | "logger">;

export interface TopUpInput {
  workspaceId: string;
  amountUsd: number;
  paymentMethodId?: string | undefined;
  /** Our request's Idempotency-Key header, when the caller sent one. */
  idempotencyKey?: string | undefined;
}

export interface TopUpResult {
  payment_intent_id: string;
  client_secret: string | null;
  status: string;
  amount_usd: number;
  next_action: Record<string, unknown> | null;
}

export function intentBody(intent: Stripe.PaymentIntent): TopUpResult {
  return {
    payment_intent_id: intent.id,
    client_secret: intent.client_secret ?? null,
    status: intent.status,
    amount_usd: intent.amount / 100,
    next_action: (intent.next_action as unknown as Record<string, unknown> | null) ?? null,
  };
}

export async function createTopUp(services: StripeServices, input: TopUpInput): Promise<TopUpResult> {
  const cents = usdToCents(input.amountUsd, "body.amount_usd");
  const stripe = await requireStripe(services.config);
  try {
    const customer = await ensureStripeCustomer(services.db, stripe, input.workspaceId);
    const params: Stripe.PaymentIntentCreateParams = {
      amount: cents,
      currency: "usd",
      customer,
      description: "AERIOX wallet top-up",
      metadata: { workspace_id: input.workspaceId, purpose: "topup" },
      ...(input.paymentMethodId
        ? { payment_method: input.paymentMethodId, confirm: true, off_session: true }
        : { automatic_payment_methods: { enabled: true } }),
    };
    // Same Idempotency-Key and same parameters → Stripe returns the same intent (a retry after a
    // network failure never charges twice). The parameters are hashed in so that reusing a key
    // with another amount is our 409, never Stripe's idempotency error.
    const options: Stripe.RequestOptions = {};
    if (input.idempotencyKey) {
      const digest = createHash("sha256").update(JSON.stringify([input.workspaceId, input.idempotencyKey, cents, input.paymentMethodId ?? null])).digest("hex").slice(0, 40);
      options.idempotencyKey = `aeriox-topup-${digest}`;
    }
    const intent = await stripe.paymentIntents.create(params, options);
    services.logger.info({ workspaceId: input.workspaceId, paymentIntentId: intent.id, status: intent.status, cents }, "top-up payment intent created");
    return intentBody(intent);
  } catch (err) {
    // Off-session confirmation that needs the customer (3-D Secure): Stripe answers 402
    // authentication_required with the intent in requires_action; the client finishes it.
    if (!isStripeError(err)) throw err;
    if (err.payment_intent?.status === "requires_action") return intentBody(err.payment_intent);
    services.logger.warn({ workspaceId: input.workspaceId, code: err.code, decline_code: err.decline_code, status: err.statusCode }, "top-up refused by Stripe");
    throw stripeApiError(err);
  }
}
