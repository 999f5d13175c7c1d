export * from "./catalog.ts";
export * from "./estimate.ts";
