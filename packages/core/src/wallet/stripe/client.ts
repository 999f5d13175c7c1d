/**
 * The Stripe SDK, built lazily from config (one client per secret key, reused), and
 * the mapping of its failures to our Error shape. Secrets never reach a message.
 * The SDK itself is imported on first use (lazy-module.ts): a server without
 * STRIPE_SECRET_KEY, and one that has not yet taken a payment or a Stripe webhook,
 * never loads it.
 */
import type Stripe from "stripe";
import { ApiError } from "../../errors.ts";
import { usdToMicros } from "../../money.ts";
import type { Config } from "../../config.ts";
import { lazyModule } from "../../lazy-module.ts";

const stripeSdk = lazyModule(() => import("stripe"));

/** The SDK's `Stripe` class (its client constructor, `webhooks`, `errors`), imported on the first call. */
export async function loadStripe(): Promise<typeof Stripe> {
  return (await stripeSdk()).default;
}

const clients = new Map<string, Stripe>();

/** Per-request timeout for Stripe calls (ms); one network retry (the SDK adds idempotency keys to POSTs). */
export const STRIPE_TIMEOUT_MS = 20_000;

export function stripeNotConfigured(): ApiError {
  return ApiError.badRequest("stripe_not_configured", "Payments are not configured on this server (STRIPE_SECRET_KEY is not set), so the workspace has no Stripe customer");
}

/** The configured client, or null when STRIPE_SECRET_KEY is unset (then the SDK is not loaded). */
export async function stripeFor(config: Pick<Config, "STRIPE_SECRET_KEY">): Promise<Stripe | null> {
  const key = config.STRIPE_SECRET_KEY;
  if (!key) return null;
  let client = clients.get(key);
  if (!client) {
    const StripeClient = await loadStripe();
    client = clients.get(key) ?? new StripeClient(key, { maxNetworkRetries: 1, timeout: STRIPE_TIMEOUT_MS, appInfo: { name: "aeriox-open" } });
    clients.set(key, client);
  }
  return client;
}

export async function requireStripe(config: Pick<Config, "STRIPE_SECRET_KEY">): Promise<Stripe> {
  const client = await stripeFor(config);
  if (!client) throw stripeNotConfigured();
  return client;
}

/** Stripe masks keys in its messages already; this removes any that might slip through. */
export function redactSecrets(text: string): string {
  return text.replace(/\b(sk|rk|pk)_(test|live)_[A-Za-z0-9*]+/g, "$1_$2_[redacted]").replace(/\bwhsec_[A-Za-z0-9]+/g, "whsec_[redacted]").replace(/\bpi_[A-Za-z0-9]+_secret_[A-Za-z0-9]+/g, "[client_secret redacted]");
}

/** An error the Stripe client threw (one exists only once the SDK was loaded). */
export function isStripeError(err: unknown): err is Stripe.errors.StripeError {
  const sdk = stripeSdk.loaded;
  return sdk !== undefined && err instanceof sdk.default.errors.StripeError;
}

/** 502 `stripe_error` carrying Stripe's own code and decline code. */
export function stripeApiError(err: unknown): ApiError {
  if (!isStripeError(err)) {
    return new ApiError(502, "stripe_error", "Stripe could not be reached", { stripe_type: "connection_error" });
  }
  const details: Record<string, unknown> = { stripe_type: err.rawType ?? err.type };
  if (err.code) details.stripe_code = err.code;
  if (err.decline_code) details.decline_code = err.decline_code;
  if (err.statusCode) details.stripe_status = err.statusCode;
  if (err.requestId) details.stripe_request_id = err.requestId;
  if (err.payment_intent?.id) details.payment_intent_id = err.payment_intent.id;
  return new ApiError(502, "stripe_error", redactSecrets(err.message || "Stripe refused the request"), details);
}

/** Stripe amounts are cents; the ledger is micros. */
export const MICROS_PER_CENT = 10_000n;

/** Whole US cents of a USD amount, read exactly (money.ts); 400 naming `field` when it has a fraction of a cent. */
export function usdToCents(usd: number, field: string): number {
  const micros = usdToMicros(usd, field);
  if (micros % MICROS_PER_CENT !== 0n) {
    throw ApiError.badRequest("invalid_request", `${field} must be a whole number of cents`, { fields: [{ field, message: "must be a whole number of cents" }] });
  }
  return Number(micros / MICROS_PER_CENT);
}
