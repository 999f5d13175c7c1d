/**
 * The job state machine (docs/ARCHITECTURE.md, Jobs):
 *   queued → running → completed | failed | cancelled | nsfw_blocked
 *   queued → cancelled | failed (deadline)     running → queued (retry after a transient failure)
 * Terminal states are final. Every transition is a compare-and-set on the current
 * state, so a cancel racing a completion yields one outcome and one settlement.
 */
export const JOB_TYPES = ["image", "video", "audio", "compose", "character_train", "prism_apply"] as const;
export type JobType = (typeof JOB_TYPES)[number];

export const JOB_STATUSES = ["queued", "running", "completed", "failed", "cancelled", "nsfw_blocked"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "cancelled", "nsfw_blocked"];
export const ACTIVE_STATUSES: readonly JobStatus[] = ["queued", "running"];

export function isTerminal(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

/** What a job's `error` holds: the spec's Error shape. */
export interface JobError {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function jobError(code: string, message: string, details?: Record<string, unknown>): JobError {
  return { error: { code, message, ...(details ? { details } : {}) } };
}
