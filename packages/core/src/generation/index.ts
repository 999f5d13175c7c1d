// The public surface of generation (`@aeriox/core/generation`): submitting a generation and waiting for it.
export * from "./submit.ts";
export * from "./wait.ts";
