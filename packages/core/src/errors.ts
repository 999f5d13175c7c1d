/**
 * The one error type of AERIOX. Domain code throws `ApiError`; the HTTP error
 * middleware turns it into the spec's Error shape `{ error: { code, message, details? } }`.
 * Anything that is not an ApiError becomes a 500 `internal_error` without its message.
 */
export type ErrorDetails = Record<string, unknown>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetails | undefined;
  /** Extra response headers, e.g. `retry-after` for 429. */
  readonly headers: Record<string, string>;

  constructor(status: number, code: string, message: string, details?: ErrorDetails, headers: Record<string, string> = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }

  toBody(): { error: { code: string; message: string; details?: ErrorDetails } } {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }

  static badRequest(code: string, message: string, details?: ErrorDetails): ApiError {
    return new ApiError(400, code, message, details);
  }
  static unauthorized(): ApiError {
    return new ApiError(401, "unauthorized", "Missing or invalid credentials");
  }
  static forbidden(code: string, message: string, details?: ErrorDetails): ApiError {
    return new ApiError(403, code, message, details);
  }
  static notFound(what = "Resource"): ApiError {
    return new ApiError(404, "not_found", `${what} not found`);
  }
  static conflict(code: string, message: string, details?: ErrorDetails): ApiError {
    return new ApiError(409, code, message, details);
  }
  static tooManyRequests(code: string, message: string, retryAfterSeconds: number): ApiError {
    return new ApiError(429, code, message, { retry_after_s: retryAfterSeconds }, { "retry-after": String(Math.max(1, Math.ceil(retryAfterSeconds))) });
  }
  static unavailable(code: string, message: string, details?: ErrorDetails): ApiError {
    return new ApiError(503, code, message, details);
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}
