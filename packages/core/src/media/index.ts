// The public surface of media (`@aeriox/core/media`). render-worker.ts is a worker thread's entry, not exported.
export * from "./ffmpeg.ts";
export * from "./procedural-png.ts";
export * from "./reference-analysis.ts";
export * from "./wav.ts";
