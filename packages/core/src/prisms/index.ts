// The public surface of prisms (`@aeriox/core/prisms`).
export * from "./catalog.ts";
export * from "./previews.ts";
export * from "./recipe.ts";
export * from "./apply.ts";
export * from "./transform.ts";
