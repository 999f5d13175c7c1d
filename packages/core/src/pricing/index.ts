export * from "./catalog.ts";
export * from "./estimate.ts";
export * from "./models.ts";
