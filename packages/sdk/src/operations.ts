// Every operationId in spec/aeriox.openapi.yaml → the SDK method that calls it.
// `satisfies Record<OperationId, …>` makes typecheck fail when the spec gains or loses an operation
// (OperationId is derived from the generated functions), and test/operations.test.ts checks each
// path resolves to a real method on a client. Update this table when the spec changes.
import type * as api from "./generated/sdk.gen.ts";

export type OperationId = keyof typeof api;

export const operationMethods = {
  getOpenApiSpec: "openapi",
  getMe: "me",
  rotateApiKey: "apiKeys.rotate",
  getWallet: "wallet.get",
  topUpWallet: "wallet.topup",
  configureAutoRecharge: "wallet.autoRecharge",
  getCredits: "credits.get",
  getPricing: "pricing.get",
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
  searchCards: "cards.search",
  renderCard: "cards.render",
  createCharacter: "characters.create",
  listCharacters: "characters.list",
  getCharacter: "characters.get",
  deleteCharacter: "characters.delete",
  listPrisms: "prisms.list",
  applyPrism: "prisms.apply",
  oauthAuthorize: "oauth.authorizeUrl",
  oauthToken: "oauth.exchangeCode",
  oauthRevoke: "oauth.revoke",
  oauthJwks: "oauth.jwks",
  getJob: "jobs.get",
  cancelJob: "jobs.cancel",
  listModels: "models.list",
} as const satisfies Record<OperationId, string>;
