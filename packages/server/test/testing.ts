/**
 * `@aeriox/server/testing`: what other packages' tests use to run this server in-process — a test
 * server on its own database, a webhook receiver, and the OAuth consent steps a browser would take.
 */
export { startTestServer, type TestServer, type TestServerOptions } from "./harness.ts";
export { startWebhookReceiver, type WebhookReceiver } from "./webhook-receiver.ts";
export { openConsentPage, submitConsent } from "./oauth-flow.ts";
