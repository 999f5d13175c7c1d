// The public surface of idempotency (`@aeriox/core/idempotency`).
export * from "./records.ts";
