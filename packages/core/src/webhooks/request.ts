/**
 * A generation request's `webhook_url` and `webhook_events_filter` (spec `WebhookUrl`,
 * `WebhookEventsFilter`): checked and taken out of the body before the body reaches pricing or a
 * provider (fal.ai has a `webhook_url` of its own: ours must never be passed on), then carried to
 * `submitJob` for the duration of the submit call, which stores it with the job before it is enqueued.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import type { Config } from "../config.ts";
import { ApiError } from "../errors.ts";
import { checkUrl, isOutboundFetchError, outboundPolicyFrom } from "../net/index.ts";

export const REQUEST_EVENT_FILTERS = ["start", "progress", "completed"] as const;
export type RequestEventFilter = (typeof REQUEST_EVENT_FILTERS)[number];

export const WEBHOOK_EVENT_TYPES = ["job.started", "job.progress", "job.completed"] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const FILTER_TO_TYPE: Record<RequestEventFilter, WebhookEventType> = { start: "job.started", progress: "job.progress", completed: "job.completed" };

export interface JobWebhookRequest {
  url: string;
  /** Event types (`job.*`) the caller asked for. */
  events: WebhookEventType[];
}

/**
 * 400 `invalid_webhook_url` unless the URL may be fetched: http(s) with no userinfo, no blocked name or
 * address literal (the guarded fetcher's own check; names are checked again on every delivery), and
 * https unless the deployment allows private networks (`FETCH_ALLOW_PRIVATE_NETWORKS`, where plain http
 * to a local receiver is normal).
 */
export function assertWebhookUrl(config: Pick<Config, "FETCH_ALLOW_PRIVATE_NETWORKS">, raw: string, field: string): string {
  let url: URL;
  try {
    url = checkUrl(raw, outboundPolicyFrom(config));
  } catch (err) {
    if (!isOutboundFetchError(err)) throw err;
    throw ApiError.badRequest("invalid_webhook_url", `The webhook URL is not allowed: ${err.message}`, { field });
  }
  if (url.protocol !== "https:" && !config.FETCH_ALLOW_PRIVATE_NETWORKS) {
    throw ApiError.badRequest("invalid_webhook_url", "The webhook URL must use https", { field });
  }
  return url.href;
}

interface WebhookFields {
  webhook_url?: unknown;
  webhook_events_filter?: unknown;
}

/** Removes the webhook fields from `body` (a copy) and checks them; `hook` is null without a `webhook_url`. */
export function takeJobWebhook<T extends object>(config: Pick<Config, "FETCH_ALLOW_PRIVATE_NETWORKS">, body: T, prefix = "body"): { body: T; hook: JobWebhookRequest | null } {
  const { webhook_url: url, webhook_events_filter: filter, ...rest } = body as T & WebhookFields;
  if (filter !== undefined && url === undefined) {
    throw ApiError.badRequest("invalid_request", "webhook_events_filter needs a webhook_url", { field: `${prefix}.webhook_events_filter` });
  }
  if (typeof url !== "string") return { body: rest as T, hook: null };
  const checked = assertWebhookUrl(config, url, `${prefix}.webhook_url`);
  const filters = (Array.isArray(filter) ? filter : ["completed"]) as RequestEventFilter[];
  return { body: rest as T, hook: { url: checked, events: [...new Set(filters.map((f) => FILTER_TO_TYPE[f]))] } };
}

const submitting = new AsyncLocalStorage<JobWebhookRequest | null>();

/** Runs `submit` with `hook` as the webhook of the job it submits (read by jobs/submit.ts). */
export function withJobWebhook<R>(hook: JobWebhookRequest | null, submit: () => R): R {
  return hook ? submitting.run(hook, submit) : submit();
}

export function currentJobWebhook(): JobWebhookRequest | null {
  return submitting.getStore() ?? null;
}
