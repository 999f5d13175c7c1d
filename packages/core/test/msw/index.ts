export * from "./fal.ts";
export * from "./elevenlabs.ts";
export * from "./server.ts";
