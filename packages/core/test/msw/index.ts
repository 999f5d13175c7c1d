export * from "./fal.ts";
export * from "./elevenlabs.ts";
