// Test-only helpers for the other packages' tests (`@aeriox/core/testing`): never imported by src.
export * from "./db/testing.ts";
export * from "./auth/oauth/testing.ts";
