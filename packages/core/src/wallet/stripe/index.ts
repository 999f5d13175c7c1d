/** Stripe: top-ups, the webhook that credits them, and the client they share. */
export { loadStripe, stripeFor, requireStripe, stripeApiError, stripeNotConfigured, usdToCents, redactSecrets, MICROS_PER_CENT } from "./client.ts";
export { ensureStripeCustomer } from "./customers.ts";
export { createTopUp, intentBody, type TopUpInput, type TopUpResult, type StripeServices } from "./topup.ts";
export { verifyStripeEvent, handleStripeEvent, type WebhookOutcome, type WebhookServices } from "./webhook.ts";
