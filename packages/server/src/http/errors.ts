/**
 * The one error middleware. Every failure leaves as the spec's Error shape with a
 * stable snake_case code; nothing unexpected ever shows a message or a stack.
 */
import type { ErrorRequestHandler, Request, Response } from "express";
import { ApiError, isApiError } from "@aeriox/core/errors";
import { isDatabaseUnavailable } from "@aeriox/core/db";
import type { Logger } from "@aeriox/core/logger";

interface ValidatorIssue {
  path?: string;
  message?: string;
  errorCode?: string;
}

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  message?: string;
  errors?: ValidatorIssue[];
  headers?: Record<string, string>;
  path?: string;
}

/** The validator's `/body/prompt`, `.query.limit`, `/params/id` → `body.prompt`, `query.limit`, `path.id`. */
function fieldName(path: string | undefined): string {
  const dotted = (path ?? "").replace(/^[./]+/, "").replace(/\//g, ".");
  return dotted.replace(/^params\./, "path.") || "request";
}

/**
 * One entry per failing field, named the way a client would write it. Ajv's `oneOf`
 * reports every branch it tried; when other issues explain the failure, the branch
 * noise ("must be equal to one of the allowed values" of a discriminator, "must match
 * exactly one schema") is dropped so the message names what is actually missing.
 */
function fromValidationIssues(issues: ValidatorIssue[]): ApiError {
  let fields = issues.map((i) => {
    const field = fieldName(i.path);
    const required = /must have required property '([^']+)'/.exec(i.message ?? "");
    if (required) {
      const name = required[1]!;
      return { field: field.endsWith(`.${name}`) ? field : `${field}.${name}`, message: "is required" };
    }
    return { field, message: i.message ?? "is invalid" };
  });
  if (fields.some((f) => /match exactly one schema in oneOf/.test(f.message)) && fields.some((f) => f.message === "is required")) {
    fields = fields.filter((f) => f.message === "is required");
  }
  fields = mergeRequiredAlternatives(fields);
  const unique = fields.filter((f, index) => fields.findIndex((g) => g.field === f.field && g.message === f.message) === index);
  const summary = unique.map((f) => `${f.field} ${f.message}`).join("; ");
  return ApiError.badRequest("invalid_request", `Request validation failed: ${summary}`, { fields: unique });
}

/**
 * "One of these fields is required" is written in the spec as `anyOf` of `required`
 * lists (e.g. `card_type` or the legacy `node_type`). Ajv reports each branch's missing
 * property just before the `anyOf` failure; they become one entry naming the choice.
 */
function mergeRequiredAlternatives(fields: Array<{ field: string; message: string }>): Array<{ field: string; message: string }> {
  const at = fields.findIndex((f) => /must match a schema in anyOf/.test(f.message));
  if (at < 0) return fields;
  const parent = fields[at]!.field;
  let first = at;
  while (first > 0 && fields[first - 1]!.message === "is required" && fields[first - 1]!.field.startsWith(`${parent}.`)) first -= 1;
  const alternatives = fields.slice(first, at);
  if (alternatives.length === 0) return fields;
  const merged = { field: alternatives[0]!.field, message: `is required (or ${alternatives.slice(1).map((f) => f.field).join(" or ")})` };
  return [...fields.slice(0, first), merged, ...fields.slice(at + 1)];
}

function isEncoded(req: Request): boolean {
  const encoding = req.headers["content-encoding"];
  return typeof encoding === "string" && encoding.trim() !== "" && encoding.trim().toLowerCase() !== "identity";
}

/** Maps body-parser, express-openapi-validator and our own errors to one ApiError. */
export function toApiError(err: unknown, req: Request): { error: ApiError; unexpected: boolean } {
  if (isApiError(err)) return { error: err, unexpected: err.status >= 500 && err.code === "internal_error" };
  if (isDatabaseUnavailable(err)) {
    return { error: new ApiError(503, "database_unavailable", "The database is unavailable; try again shortly", undefined, { "retry-after": "2" }), unexpected: false };
  }
  const e = (err ?? {}) as HttpishError;
  const status = e.status ?? e.statusCode;
  if (e.type === "entity.parse.failed") {
    return { error: ApiError.badRequest("invalid_json", "Request body is not valid JSON"), unexpected: false };
  }
  if (e.type === "entity.too.large" || status === 413) {
    return { error: new ApiError(413, "payload_too_large", "Request body exceeds the size limit"), unexpected: false };
  }
  if (e.type === "encoding.unsupported") {
    const encoding = String(req.headers["content-encoding"] ?? "").toLowerCase();
    return { error: new ApiError(415, "unsupported_media_type", `Unsupported Content-Encoding "${encoding.slice(0, 40)}": send the body as identity, gzip, deflate or br`), unexpected: false };
  }
  if (e.type === "charset.unsupported") {
    return { error: new ApiError(415, "unsupported_media_type", "Unsupported body charset"), unexpected: false };
  }
  if (status === 400 && Array.isArray(e.errors)) return { error: fromValidationIssues(e.errors), unexpected: false };
  if (e.type === "request.size.invalid") {
    return { error: ApiError.badRequest("invalid_request", "Request body length does not match its Content-Length"), unexpected: false };
  }
  if (e.type === "request.aborted") {
    return { error: ApiError.badRequest("request_aborted", "The request body ended before it was complete"), unexpected: false };
  }
  if (status === 400 && e.type === undefined && isEncoded(req)) {
    // body-parser passes the decompressor's own error (zlib's Z_DATA_ERROR, brotli's ERR__ERROR_*) on as a 400.
    const encoding = String(req.headers["content-encoding"]).toLowerCase();
    return { error: ApiError.badRequest("invalid_content_encoding", `Request body is not valid ${encoding} data`), unexpected: false };
  }
  if (status === 404) {
    return { error: new ApiError(404, "not_found", `No route for ${req.method} ${req.path}`), unexpected: false };
  }
  if (status === 405) {
    return { error: new ApiError(405, "method_not_allowed", `Method ${req.method} is not allowed on ${req.path}`), unexpected: false };
  }
  if (status === 415) {
    // The validator answers 415 both for a wrong Content-Type and for a missing body.
    const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
    return hasBody
      ? { error: new ApiError(415, "unsupported_media_type", `Unsupported Content-Type ${req.headers["content-type"] ?? "(none)"}`), unexpected: false }
      : { error: fromValidationIssues([{ path: "body", message: "is required" }]), unexpected: false };
  }
  if (status === 401) return { error: ApiError.unauthorized(), unexpected: false };
  return { error: new ApiError(500, "internal_error", "Internal server error"), unexpected: true };
}

export function sendError(res: Response, error: ApiError, requestId: string): void {
  const body = error.toBody();
  if (error.status >= 500) {
    (body.error as { details?: Record<string, unknown> }).details = { ...(error.details ?? {}), request_id: requestId };
  }
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  // `send` with a string bypasses the response validator (which wraps res.json): error bodies are always the Error shape.
  res.status(error.status).type("application/json").send(JSON.stringify(body));
}

export function errorMiddleware(logger: Logger, allowedMethods: (path: string) => string[]): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const requestId = String(res.getHeader("x-request-id") ?? "");
    const { error, unexpected } = toApiError(err, req);
    if (unexpected) {
      logger.error({ err, requestId, method: req.method, path: req.path }, "unexpected error");
    } else if (error.status >= 500) {
      logger.warn({ requestId, code: error.code, path: req.path }, error.message);
    }
    if (error.status === 405) res.setHeader("Allow", allowedMethods(req.path).join(", "));
    if (res.headersSent) {
      res.end();
      return;
    }
    sendError(res, error, requestId);
  };
}
