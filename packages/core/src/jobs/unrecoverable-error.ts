/**
 * A job attempt's final failure (ARCHITECTURE.md, Jobs: the retry convention). BullMQ's
 * `UnrecoverableError` without importing BullMQ: a process without REDIS_URL never loads
 * it (start-up time and memory). BullMQ's worker goes by the name (`err.name ==
 * 'UnrecoverableError'` in its job.js, as an error may cross a realm), as does
 * `isUnrecoverable` in queue.ts; the default message is BullMQ's.
 */
export class UnrecoverableError extends Error {
  constructor(message = "bullmq:unrecoverable") {
    super(message);
    this.name = "UnrecoverableError";
  }
}
