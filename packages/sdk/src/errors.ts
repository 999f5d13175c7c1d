// Typed errors, modelled on the OpenAI/Stripe SDKs: one base class, one subclass per status family,
// so callers can `instanceof` instead of comparing numbers. Every field comes from the spec's
// Error shape `{ error: { code, message, details } }` plus the `x-request-id` header.
import type { Error as ApiErrorBody, Job } from "./generated/types.gen.ts";

export interface AerioxErrorInit {
  status?: number;
  code?: string;
  details?: Record<string, unknown>;
  requestId?: string;
  headers?: Headers;
  cause?: unknown;
}

export class AerioxError extends Error {
  override name = "AerioxError";
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly details: Record<string, unknown> | undefined;
  /** Value of the response's `x-request-id` header: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;

  constructor(message: string, init: AerioxErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.details = init.details;
    this.requestId = init.requestId;
    this.headers = init.headers;
  }
}

export class BadRequestError extends AerioxError { override name = "BadRequestError"; }
export class AuthenticationError extends AerioxError { override name = "AuthenticationError"; }
export class InsufficientFundsError extends AerioxError { override name = "InsufficientFundsError"; }
export class PermissionDeniedError extends AerioxError { override name = "PermissionDeniedError"; }
export class NotFoundError extends AerioxError { override name = "NotFoundError"; }
export class ConflictError extends AerioxError { override name = "ConflictError"; }
export class UnprocessableEntityError extends AerioxError { override name = "UnprocessableEntityError"; }
export class InternalServerError extends AerioxError { override name = "InternalServerError"; }

export class RateLimitError extends AerioxError {
  override name = "RateLimitError";
  /** Seconds the server asked us to wait (`retry-after`), when it said. */
  readonly retryAfter: number | undefined;
  constructor(message: string, init: AerioxErrorInit = {}) {
    super(message, init);
    // The header is authoritative; the spec's body also carries `details.retry_after_s`.
    const raw = init.headers?.get("retry-after") || init.details?.retry_after_s;
    this.retryAfter = raw != null && raw !== "" && Number.isFinite(Number(raw)) ? Number(raw) : undefined;
  }
}

/** The one error for a call made without any credential (no `apiKey`, no AERIOX_API_KEY, no `aeriox login` profile). */
export const missingApiKey = (): AuthenticationError =>
  new AuthenticationError("No API key: pass `apiKey` to new Aeriox(), set AERIOX_API_KEY, or run `aeriox login`.", { code: "missing_api_key" });

/** The request never produced an HTTP response (DNS, refused connection, reset, CORS...). */
export class APIConnectionError extends AerioxError { override name = "APIConnectionError"; }
/** No response within `timeout`, or a `jobs.wait` deadline passed. */
export class APITimeoutError extends APIConnectionError { override name = "APITimeoutError"; }

/** A job reached `failed`, `cancelled` or `nsfw_blocked`. `job` is its final state. */
export class JobFailedError extends AerioxError {
  override name = "JobFailedError";
  readonly job: Job;
  constructor(job: Job) {
    const body = job.error?.error;
    super(body?.message ?? `Job ${job.job_id} ended with status ${job.status}`, {
      code: body?.code ?? job.status,
      details: body?.details,
    });
    this.job = job;
  }
}

/** Thrown before any money is reserved when `maxCostUsd` would be exceeded (or the estimate says no). */
export class CostLimitError extends AerioxError {
  override name = "CostLimitError";
  constructor(
    message: string,
    readonly estimate: { usd: number; would_succeed: boolean; reasons_blocked: string[] },
    readonly maxCostUsd: number,
  ) {
    super(message, { code: estimate.would_succeed ? "max_cost_exceeded" : "estimate_blocked" });
  }
}

function classFor(status: number): typeof AerioxError {
  if (status >= 500) return InternalServerError;
  return (
    ({
      400: BadRequestError,
      401: AuthenticationError,
      402: InsufficientFundsError,
      403: PermissionDeniedError,
      404: NotFoundError,
      409: ConflictError,
      422: UnprocessableEntityError,
      429: RateLimitError,
    } as Record<number, typeof AerioxError>)[status] ?? AerioxError
  );
}

/** Builds the right error for a non-2xx response; tolerates bodies that are not the spec's shape. */
export async function errorFromResponse(res: Response): Promise<AerioxError> {
  let text = "";
  try {
    text = await res.text();
  } catch {
    // body unreadable: keep the status alone
  }
  let body: Partial<ApiErrorBody> | undefined;
  try {
    body = JSON.parse(text) as Partial<ApiErrorBody>;
  } catch {
    body = undefined;
  }
  const e = body?.error;
  const Cls = classFor(res.status);
  return new Cls(e?.message ?? (text.slice(0, 200) || `HTTP ${res.status}`), {
    status: res.status,
    code: e?.code,
    details: e?.details,
    requestId: res.headers.get("x-request-id") ?? undefined,
    headers: res.headers,
  });
}
