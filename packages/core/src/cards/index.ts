// The public surface of cards (`@aeriox/core/cards`).
export * from "./cards.ts";
export * from "./search.ts";
export * from "./render.ts";
export * from "./serialize.ts";
export * from "./globals.ts";
export * from "./embedding-queue.ts";
