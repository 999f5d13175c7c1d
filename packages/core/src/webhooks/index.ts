// The public surface of webhooks (`@aeriox/core/webhooks`).
export * from "./request.ts";
export * from "./endpoints.ts";
