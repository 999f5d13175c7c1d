// The public surface of characters (`@aeriox/core/characters`).
export * from "./characters.ts";
export * from "./zip.ts";
export * from "./train.ts";
