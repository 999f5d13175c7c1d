// Every operationId in spec/aeriox.openapi.yaml → the SDK method that calls it (a path on a client).
// `satisfies Record<OperationId, …>` makes typecheck fail when the spec gains or loses an operation
// (OperationId is derived from the generated functions), and test/operations.test.ts checks each
// path resolves to a real method. `null` marks operations that are deliberately not exposed; each
// needs a reason in `notExposed`. Update this table when the spec changes.
import type * as api from "./generated/sdk.gen.ts";

export type OperationId = keyof typeof api;

export const operationMethods = {
  getOpenApiSpec: "openapi",
  getHealth: "health",
  getReadiness: "readiness",
  getMe: "me",
  createApiKey: "apiKeys.create",
  listApiKeys: "apiKeys.list",
  revokeApiKey: "apiKeys.revoke",
  rotateApiKey: "apiKeys.rotate",
  updateApiKey: "apiKeys.update",
  getWallet: "wallet.get",
  topUpWallet: "wallet.topup",
  configureAutoRecharge: "wallet.autoRecharge",
  handleStripeWebhook: null,
  createWebhookEndpoint: "webhooks.createEndpoint",
  listWebhookEndpoints: "webhooks.listEndpoints",
  deleteWebhookEndpoint: "webhooks.deleteEndpoint",
  rotateWebhookEndpointSecret: "webhooks.rotateEndpointSecret",
  listWebhookEndpointDeliveries: "webhooks.listEndpointDeliveries",
  listWebhookDeliveries: "webhooks.listDeliveries",
  getWebhookSigningSecret: "webhooks.signingSecret",
  rotateWebhookSigningSecret: "webhooks.rotateSigningSecret",
  getCredits: "credits.get",
  getPricing: "pricing.get",
  getUsage: "wallet.usage",
  estimateGeneration: "estimate",
  generateImage: "images.generate",
  generateVideo: "videos.generate",
  generateAudio: "audio.generate",
  composeVideo: "compose.create",
  createGeneration: "generations.create",
  getGeneration: "generations.get",
  listNodes: "nodes.list",
  createNode: "nodes.create",
  getNode: "nodes.get",
  deleteNode: "nodes.delete",
  listCards: "cards.list",
  createCard: "cards.create",
  searchCards: "cards.search",
  getCard: "cards.get",
  deleteCard: "cards.delete",
  renderCard: "cards.render",
  createCharacter: "characters.create",
  listCharacters: "characters.list",
  getCharacter: "characters.get",
  deleteCharacter: "characters.delete",
  listPrisms: "prisms.list",
  applyPrism: "prisms.apply",
  oauthAuthorize: "oauth.authorizeUrl",
  getOAuthConsent: "oauth.consentPage",
  submitOAuthConsent: "oauth.submitConsent",
  oauthToken: "oauth.exchangeCode",
  oauthRevoke: "oauth.revoke",
  oauthJwks: "oauth.jwks",
  listJobs: "jobs.list",
  getJob: "jobs.get",
  cancelJob: "jobs.cancel",
  streamJobEvents: "jobs.events",
  listAssets: "assets.list",
  uploadAsset: "assets.upload",
  getAsset: "assets.get",
  downloadAsset: "assets.download",
  listModels: "models.list",
} as const satisfies Record<OperationId, string | null>;

/** Why an operation has no SDK method. */
export const notExposed: Partial<Record<OperationId, string>> = {
  handleStripeWebhook: "called by Stripe with a signed payload, not by API clients",
};
