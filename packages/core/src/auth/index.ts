// The public surface of auth (`@aeriox/core/auth`): principals, keys, OAuth.
export * from "./principal.ts";
export * from "./authenticate.ts";
export * from "./me.ts";
export * from "./key-management.ts";
export * from "./oauth/authorization.ts";
export * from "./oauth/token-grants.ts";
export * from "./oauth/revocation.ts";
export * from "./oauth/signing-keys.ts";
export * from "./oauth/registration.ts";
