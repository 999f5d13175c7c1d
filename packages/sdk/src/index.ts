// Public entry of @aeriox/sdk. Runtime-neutral: fetch, WebCrypto and streams only.
export { Aeriox, DEFAULT_BASE_URL, type ClientOptions } from "./client.ts";
export * from "./errors.ts";
export type { RequestOptions, StreamOptions, StreamedEvent, OperationInput, OperationResult, RequestOperation, StreamOperation } from "./transport.ts";
export type { WaitOptions } from "./wait.ts";
export type { CostOptions } from "./cost.ts";
export type { JobResult } from "./output.ts";
export type { GenerateAndWaitOptions } from "./resources/generation.ts";
export type { AuthorizeUrlParams, ConsentPage } from "./resources/oauth.ts";
export { PagePromise } from "./pagination.ts";
export { WebhookVerificationError, type WebhookHeaders } from "./resources/webhooks.ts";
export type { UploadBody, UploadContentType, UploadOptions } from "./resources/assets.ts";
export { StreamIdleError, type ServerSentEvent } from "./sse.ts";
export { createPkcePair, pkceChallenge, randomState, type PkcePair } from "./pkce.ts";
export { operationMethods, type OperationId } from "./operations.ts";
// Request/response types generated from the spec (Job, Character, GenerateImageRequest, …).
export type * from "./generated/types.gen.ts";
// The spec names its error body `Error`; this alias avoids shadowing the global in user code.
export type { Error as ApiErrorBody } from "./generated/types.gen.ts";
