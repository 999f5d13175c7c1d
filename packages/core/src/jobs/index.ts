// The public surface of jobs (`@aeriox/core/jobs`): states, queues, settling, listing and watching jobs.
export * from "./states.ts";
export * from "./serialize.ts";
export * from "./queue.ts";
export * from "./process.ts";
export * from "./settle.ts";
export * from "./cancel.ts";
export * from "./list.ts";
export * from "./watch.ts";
export * from "./reconciler.ts";
// The BullMQ queue and workers are `@aeriox/core/jobs/bullmq` (bullmq-queue.ts): loaded only where REDIS_URL is set.
