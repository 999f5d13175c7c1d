/**
 * OAuth discovery for clients that sign in without a pasted key (MCP clients first),
 * outside the /v1 spec like /docs and /mcp, mounted before authentication and validation:
 *
 * - `GET /.well-known/oauth-authorization-server` (RFC 8414): issuer = PUBLIC_URL (the
 *   `iss` of our access tokens), pointing at the existing `/v1/oauth/authorize`, `/token`,
 *   `/revoke` and `/jwks`; PKCE S256 only; public clients only (`none`).
 * - `GET /.well-known/oauth-protected-resource` (RFC 9728): this API as a protected
 *   resource (resource = PUBLIC_URL, so `/mcp` and `/v1/...` both fall under it),
 *   authorised by the server above. `/mcp` serves its own path-suffixed document.
 * - `POST /oauth/register` (RFC 7591): dynamic registration of public PKCE clients, a
 *   front on the same client table (core `registerPublicClient`), on the `oauth` budget
 *   per client address.
 * - RFC 8707 `resource` on `GET /v1/oauth/authorize`: MCP clients always send it. The
 *   spec documents it as an optional string; its value is checked here, before the
 *   authorize handler — it must name this deployment (PUBLIC_URL or PUBLIC_URL/mcp;
 *   400 `invalid_target` otherwise). Access tokens are
 *   for the whole API (audience `aeriox-api`), which both resources front. The token
 *   endpoint's form schema already lets `resource` through.
 */
import express, { Router, type Request, type RequestHandler, type Response } from "express";
import { ApiError } from "@aeriox/core/errors";
import { registerPublicClient, SCOPES } from "@aeriox/core/auth";
import type { AppServices } from "../services.ts";

export const REGISTRATION_PATH = "/oauth/register";
export const PROTECTED_RESOURCE_METADATA_PATH = "/.well-known/oauth-protected-resource";

/** RFC 8414 metadata of the authorization server at `issuer` (PUBLIC_URL). */
export function authorizationServerMetadata(issuer: string) {
  return {
    issuer,
    authorization_endpoint: `${issuer}/v1/oauth/authorize`,
    token_endpoint: `${issuer}/v1/oauth/token`,
    revocation_endpoint: `${issuer}/v1/oauth/revoke`,
    jwks_uri: `${issuer}/v1/oauth/jwks`,
    registration_endpoint: `${issuer}${REGISTRATION_PATH}`,
    scopes_supported: [...SCOPES],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none"],
    revocation_endpoint_auth_methods_supported: ["none"],
    service_documentation: `${issuer}/docs`,
  };
}

/**
 * RFC 9728 metadata of a resource of this deployment. `scopes_supported` is what a client
 * should ask for by default (MCP clients request exactly these): read and generate, not admin.
 */
export function protectedResourceMetadata(issuer: string, resource: string) {
  return {
    resource,
    authorization_servers: [issuer],
    scopes_supported: ["read", "generate"],
    bearer_methods_supported: ["header"],
    resource_name: "AERIOX API",
    resource_documentation: `${issuer}/docs`,
  };
}

/** The `resource` values (RFC 8707) this deployment answers to. */
export function knownResources(publicUrl: string): Set<string> {
  return new Set([publicUrl, `${publicUrl}/`, `${publicUrl}/mcp`]);
}

function metadataResponse(res: Response, body: unknown): void {
  res.setHeader("Access-Control-Allow-Origin", "*");
  res.setHeader("Cache-Control", "public, max-age=300");
  res.status(200).json(body);
}

function clientAddress(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? "unknown";
}

/** Checks RFC 8707 `resource` on the authorize query (documented in the spec as optional; its value is ours to check). */
function authorizeResource(services: AppServices): RequestHandler {
  const known = knownResources(services.config.publicUrl);
  return (req, _res, next) => {
    const q = req.url.indexOf("?");
    if (q < 0) return next();
    const values = new URLSearchParams(req.url.slice(q + 1)).getAll("resource");
    if (values.some((v) => !known.has(v))) {
      next(ApiError.badRequest("invalid_target", `resource must name this API (${services.config.publicUrl} or ${services.config.publicUrl}/mcp)`, { field: "resource" }));
      return;
    }
    next();
  };
}

export function oauthDiscovery(services: AppServices): Router {
  const router = Router();
  const issuer = services.config.publicUrl;

  router.get("/.well-known/oauth-authorization-server", (_req, res) => metadataResponse(res, authorizationServerMetadata(issuer)));
  router.get(PROTECTED_RESOURCE_METADATA_PATH, (_req, res) => metadataResponse(res, protectedResourceMetadata(issuer, issuer)));

  router.options(REGISTRATION_PATH, (_req, res) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Allow-Methods", "POST");
    res.setHeader("Access-Control-Allow-Headers", "content-type");
    res.status(204).end();
  });
  router.post(
    REGISTRATION_PATH,
    (req, _res, next) => {
      services.rateLimiter.consumeAddress("oauth", clientAddress(req), services.config.OAUTH_IP_RATE_LIMIT_PER_MINUTE).then(() => next(), next);
    },
    (req, _res, next) => {
      if (!req.is("application/json")) return next(new ApiError(415, "unsupported_media_type", `Unsupported Content-Type ${req.headers["content-type"] ?? "(none)"}: send client metadata as application/json`));
      next();
    },
    express.json({ limit: "16kb", type: "application/json" }) as RequestHandler,
    (req, res, next) => {
      registerPublicClient(services.db.prisma, req.body).then((client) => {
        res.setHeader("Access-Control-Allow-Origin", "*");
        res.setHeader("Cache-Control", "no-store");
        res.status(201).json(client);
      }, next);
    },
  );
  router.all(REGISTRATION_PATH, (req, res, next) => {
    res.setHeader("Allow", "POST, OPTIONS");
    next(new ApiError(405, "method_not_allowed", `${req.method} is not allowed on ${REGISTRATION_PATH}; POST client metadata`));
  });

  router.get("/v1/oauth/authorize", authorizeResource(services));
  return router;
}
