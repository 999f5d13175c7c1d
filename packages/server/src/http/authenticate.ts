/**
 * Credentials → Principal, then the operation's scope. Every failure to
 * authenticate is the same 401 body, so a caller learns nothing about why.
 */
import type { Request, RequestHandler } from "express";
import { ApiError } from "@aeriox/core/errors";
import { authenticateCredential, hasScope, type Principal } from "@aeriox/core/auth";
import { operationOf, type SpecOperation } from "../spec.ts";
import type { AppServices } from "../services.ts";
import { labelOperation } from "./access-log.ts";

/** `Authorization: Bearer <key or JWT>` or `X-Api-Key: <key>`. */
export function credentialFrom(req: Request): string | null {
  const header = req.headers.authorization;
  if (typeof header === "string") {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  const apiKey = req.headers["x-api-key"];
  return typeof apiKey === "string" && apiKey.trim() ? apiKey.trim() : null;
}

export async function authenticateRequest(services: AppServices, req: Request, op: SpecOperation): Promise<Principal> {
  const credential = credentialFrom(req);
  if (!credential) throw ApiError.unauthorized();
  const principal = await authenticateCredential(services, credential);
  if (!principal) throw ApiError.unauthorized();
  await services.rateLimiter.consume(principal).catch(countRateLimited(services, "key"));
  if (op.scope && !hasScope(principal, op.scope)) {
    throw ApiError.forbidden("insufficient_scope", `This operation needs the '${op.scope}' scope`, {
      required_scope: op.scope,
      granted_scopes: principal.scopes,
    });
  }
  return principal;
}

/**
 * Public operations counted per client address (the spec documents 429 on each).
 * OAuth's take secrets (client secrets, codes, refresh tokens, the owner's API key)
 * and create rows, so they share the smaller `oauth` budget.
 */
export const ADDRESS_LIMITED_OPERATIONS: Readonly<Record<string, "oauth" | "public">> = {
  oauthAuthorize: "oauth",
  getOAuthConsent: "oauth",
  submitOAuthConsent: "oauth",
  oauthToken: "oauth",
  oauthRevoke: "oauth",
  oauthJwks: "public",
  getPricing: "public",
  downloadAsset: "public",
  getOpenApiSpec: "public",
};

/** `trust proxy` (app.ts) decides whether `req.ip` comes from X-Forwarded-For. */
async function limitByAddress(services: AppServices, req: Request, op: SpecOperation): Promise<void> {
  const bucket = ADDRESS_LIMITED_OPERATIONS[op.operationId];
  if (!bucket) return;
  const limit = bucket === "oauth" ? services.config.OAUTH_IP_RATE_LIMIT_PER_MINUTE : services.config.IP_RATE_LIMIT_PER_MINUTE;
  await services.rateLimiter.consumeAddress(bucket, req.ip ?? req.socket.remoteAddress ?? "unknown", limit).catch(countRateLimited(services, bucket));
}

/** Counts a 429 from a rate limiter (aeriox_rate_limit_rejections_total) and passes the error on. */
function countRateLimited(services: AppServices, bucket: "key" | "public" | "oauth") {
  return (err: unknown): never => {
    if (err instanceof ApiError && err.status === 429) services.metrics.rateLimited(bucket);
    throw err;
  };
}

/**
 * Runs before body parsing and validation so an anonymous caller learns nothing
 * about the schema: 401/403/429 come first, then 400. Stores the principal on the
 * request. Public operations are counted per client address instead.
 */
export function authenticationMiddleware(services: AppServices): RequestHandler {
  return (req, _res, next) => {
    const op = operationOf(req);
    if (!op) return next();
    labelOperation(req, op.operationId); // the access log's and metrics' label
    if (!op.authenticated) {
      limitByAddress(services, req, op).then(() => next(), next);
      return;
    }
    authenticateRequest(services, req, op).then((principal) => {
      (req as AuthenticatedRequest).principal = principal;
      next();
    }, next);
  };
}

export type AuthenticatedRequest = Request & { principal?: Principal };
