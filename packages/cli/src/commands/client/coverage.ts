/**
 * Every operation of the spec → the CLI command that calls it. The contract test
 * (test/contract.test.ts) fails when the spec has an operation missing here, when a command
 * named here does not exist, or when an operation is reachable only through the generic
 * `aeriox api <operationId>` without a documented reason in `API_ONLY`.
 */
export const operationCommands: Record<string, string> = {
  getOpenApiSpec: "spec",
  getHealth: "health",
  getReadiness: "ready",
  getMe: "me",
  createApiKey: "api-keys create",
  listApiKeys: "api-keys list",
  revokeApiKey: "api-keys revoke",
  rotateApiKey: "api-keys rotate",
  getWallet: "balance",
  topUpWallet: "topup",
  configureAutoRecharge: "auto-recharge",
  handleStripeWebhook: "api handleStripeWebhook",
  getCredits: "api getCredits",
  getPricing: "pricing",
  estimateGeneration: "estimate",
  generateImage: "image",
  generateVideo: "video",
  generateAudio: "speak",
  composeVideo: "compose",
  createGeneration: "api createGeneration",
  getGeneration: "api getGeneration",
  listNodes: "api listNodes",
  createNode: "api createNode",
  getNode: "api getNode",
  deleteNode: "api deleteNode",
  listCards: "cards list",
  createCard: "cards create",
  searchCards: "cards search",
  getCard: "cards get",
  deleteCard: "cards delete",
  renderCard: "cards render",
  createCharacter: "characters create",
  listCharacters: "characters list",
  getCharacter: "characters get",
  deleteCharacter: "characters delete",
  listPrisms: "prisms list",
  applyPrism: "prisms apply",
  oauthAuthorize: "api oauthAuthorize",
  getOAuthConsent: "api getOAuthConsent",
  submitOAuthConsent: "api submitOAuthConsent",
  oauthToken: "api oauthToken",
  oauthRevoke: "api oauthRevoke",
  oauthJwks: "api oauthJwks",
  getJob: "jobs get",
  cancelJob: "jobs cancel",
  streamJobEvents: "jobs watch",
  getAsset: "assets get",
  downloadAsset: "assets download",
  listModels: "models",
};

const DEPRECATED = "deprecated legacy alias; the CLI has a command for its replacement (use that)";
const OAUTH = "OAuth is for third-party apps acting for a user in a browser; the CLI authenticates with an API key (`aeriox login`)";

/** Operations reachable only through `aeriox api <operationId>`, and why. */
export const API_ONLY: Record<string, string> = {
  handleStripeWebhook: "called by Stripe with a signed event, not by people",
  getCredits: `${DEPRECATED} (balance)`,
  createGeneration: `${DEPRECATED} (image / video)`,
  getGeneration: `${DEPRECATED} (jobs get)`,
  listNodes: `${DEPRECATED} (cards list)`,
  createNode: `${DEPRECATED} (cards create)`,
  getNode: `${DEPRECATED} (cards get)`,
  deleteNode: `${DEPRECATED} (cards delete)`,
  oauthAuthorize: OAUTH,
  getOAuthConsent: OAUTH,
  submitOAuthConsent: OAUTH,
  oauthToken: OAUTH,
  oauthRevoke: OAUTH,
  oauthJwks: OAUTH,
};
