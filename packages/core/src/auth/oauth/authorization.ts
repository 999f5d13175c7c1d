/**
 * The front channel of the authorization-code flow:
 *  1. `startAuthorization` checks the client and the EXACT redirect URI first (errors
 *     there are answered directly, never redirected), then the rest; later errors are
 *     redirected to the verified redirect URI (RFC 6749 §4.1.2.1). A valid request is
 *     stored as a pending authorization for 10 minutes.
 *  2. `openConsent` mints a CSRF token for the consent page (stored hashed).
 *  3. `decideConsent` checks the CSRF token (form and cookie must both match the stored
 *     hash), the owner's API key (a key of the workspace being granted, with the `admin`
 *     scope), decides the request exactly once and, on approval, issues a single-use
 *     60-second code bound to client, redirect URI, PKCE challenge, scopes and workspace.
 */
import type { Database } from "../../db/index.ts";
import { ApiError } from "../../errors.ts";
import { KEY_PREFIX } from "../api-keys.ts";
import { authenticateCredential } from "../authenticate.ts";
import { SCOPES, type Scope } from "../principal.ts";
import { findOAuthClient } from "./clients.ts";
import { isValidCodeChallenge } from "./pkce.ts";
import { CODE_PREFIX, hashSecret, newSecret, safeEqual } from "./secrets.ts";
import { isUuid } from "../../ids.ts";
import { maybePurgeExpiredOAuthRows } from "./housekeeping.ts";
import type { Config } from "../../config.ts";

export const AUTHORIZATION_REQUEST_TTL_MS = 10 * 60_000;
export const AUTHORIZATION_CODE_TTL_MS = 60_000;
const MAX_STATE_LENGTH = 1000;

export const SCOPE_DESCRIPTIONS: Record<Scope, string> = {
  read: "See your workspace: jobs, assets, characters, cards and wallet balance.",
  generate: "Start generation jobs that spend from your workspace's wallet.",
  admin: "Manage API keys and wallet settings of your workspace.",
};

export interface AuthorizeParams {
  response_type?: string | undefined;
  client_id?: string | undefined;
  redirect_uri?: string | undefined;
  code_challenge?: string | undefined;
  code_challenge_method?: string | undefined;
  scope?: string | undefined;
  state?: string | undefined;
}

/** Where the user agent goes next: the consent page, or back to the client with an error. */
export type AuthorizeOutcome = { kind: "consent"; requestId: string } | { kind: "error_redirect"; location: string };

export function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

const invalid = (message: string) => ApiError.badRequest("invalid_request", message);

export async function startAuthorization(db: Database, p: AuthorizeParams): Promise<AuthorizeOutcome> {
  if (!p.client_id) throw invalid("client_id is required");
  const client = await findOAuthClient(db.prisma, p.client_id);
  if (!client) throw invalid("Unknown client_id");
  if (!p.redirect_uri || !client.redirectUris.includes(p.redirect_uri)) throw invalid("redirect_uri does not match the registered URI");
  const redirectUri = p.redirect_uri;
  const state = p.state;
  const fail = (error: string, description: string): AuthorizeOutcome => ({
    kind: "error_redirect",
    location: redirectWith(redirectUri, { error, error_description: description, state }),
  });
  if (state !== undefined && state.length > MAX_STATE_LENGTH) return fail("invalid_request", `state is longer than ${MAX_STATE_LENGTH} characters`);
  if (p.response_type !== "code") return fail("unsupported_response_type", "response_type must be code");
  if (!p.code_challenge) return fail("invalid_request", "code_challenge is required (PKCE)");
  if (!isValidCodeChallenge(p.code_challenge)) return fail("invalid_request", "code_challenge must be 43-128 characters of A-Z a-z 0-9 - . _ ~");
  if (p.code_challenge_method !== "S256") return fail("invalid_request", "code_challenge_method must be S256 (plain is not accepted)");

  const allowed = client.allowedScopes as Scope[];
  let scopes: Scope[] = allowed;
  if (p.scope !== undefined && p.scope.trim() !== "") {
    const requested = p.scope.split(" ").filter(Boolean);
    if (requested.some((s) => !(allowed as string[]).includes(s))) return fail("invalid_scope", `scope must be a subset of: ${allowed.join(" ")}`);
    scopes = SCOPES.filter((s) => requested.includes(s));
  }

  maybePurgeExpiredOAuthRows(db);
  const pending = await db.prisma.oAuthAuthorizationRequest.create({
    data: {
      clientId: client.id,
      redirectUri,
      codeChallenge: p.code_challenge,
      scopes,
      state: state ?? null,
      // Unusable until the consent page mints a token.
      csrfTokenHash: hashSecret(newSecret()),
      expiresAt: new Date(Date.now() + AUTHORIZATION_REQUEST_TTL_MS),
    },
  });
  return { kind: "consent", requestId: pending.id };
}

const unknownRequest = () => invalid("Unknown or expired authorization request");

async function pendingRequest(db: Database, requestId: string) {
  if (!isUuid(requestId)) throw unknownRequest();
  const pending = await db.prisma.oAuthAuthorizationRequest.findUnique({ where: { id: requestId } });
  if (!pending || pending.decidedAt || pending.expiresAt.getTime() <= Date.now()) throw unknownRequest();
  return pending;
}

export interface ConsentView {
  requestId: string;
  clientName: string;
  clientId: string;
  redirectUri: string;
  scopes: Array<{ scope: Scope; description: string }>;
  csrfToken: string;
  expiresAt: Date;
}

/** Loads a pending request for the consent page and mints its CSRF token. */
export async function openConsent(db: Database, requestId: string): Promise<ConsentView> {
  const pending = await pendingRequest(db, requestId);
  const client = await findOAuthClient(db.prisma, pending.clientId);
  if (!client) throw unknownRequest();
  const csrfToken = newSecret();
  await db.prisma.oAuthAuthorizationRequest.update({ where: { id: pending.id }, data: { csrfTokenHash: hashSecret(csrfToken) } });
  return {
    requestId: pending.id,
    clientName: client.name,
    clientId: client.id,
    redirectUri: pending.redirectUri,
    scopes: (pending.scopes as Scope[]).map((scope) => ({ scope, description: SCOPE_DESCRIPTIONS[scope] })),
    csrfToken,
    expiresAt: pending.expiresAt,
  };
}

export interface ConsentDecision {
  requestId: string;
  decision: "approve" | "deny";
  apiKey: string;
  /** From the form field. */
  csrfToken: string;
  /** From the cookie (double submit). */
  csrfCookie: string | undefined;
}

/** The owner's key: an API key (not an OAuth token) of the workspace, with the admin scope. */
async function authenticateOwner(services: { db: Database; config: Config }, apiKey: string) {
  const principal = apiKey.startsWith(KEY_PREFIX) ? await authenticateCredential(services, apiKey) : null;
  if (!principal || principal.kind !== "api_key" || !principal.scopes.includes("admin")) {
    throw new ApiError(401, "unauthorized", "Missing or invalid API key (an API key of the workspace with the admin scope is required)");
  }
  return principal;
}

/** Returns the URL to send the user agent to (the client's redirect URI with the result). */
export async function decideConsent(services: { db: Database; config: Config }, d: ConsentDecision): Promise<{ location: string }> {
  const { db } = services;
  const pending = await pendingRequest(db, d.requestId);
  const formHash = hashSecret(d.csrfToken);
  if (!d.csrfCookie || !safeEqual(d.csrfCookie, d.csrfToken) || !safeEqual(formHash, pending.csrfTokenHash)) {
    throw ApiError.badRequest("invalid_csrf_token", "Invalid CSRF token");
  }
  const owner = await authenticateOwner(services, d.apiKey);

  const code = newSecret(CODE_PREFIX);
  const decided = await db.prisma.$transaction(async (tx) => {
    const claimed = await tx.oAuthAuthorizationRequest.updateMany({
      where: { id: pending.id, decidedAt: null, expiresAt: { gt: new Date() }, csrfTokenHash: formHash },
      data: { decidedAt: new Date() },
    });
    if (claimed.count !== 1) return false;
    if (d.decision === "approve") {
      await tx.oAuthCode.create({
        data: {
          codeHash: hashSecret(code),
          clientId: pending.clientId,
          workspaceId: owner.workspaceId,
          redirectUri: pending.redirectUri,
          codeChallenge: pending.codeChallenge,
          scopes: pending.scopes,
          expiresAt: new Date(Date.now() + AUTHORIZATION_CODE_TTL_MS),
        },
      });
    }
    return true;
  });
  if (!decided) throw unknownRequest();
  const state = pending.state ?? undefined;
  return {
    location:
      d.decision === "approve"
        ? redirectWith(pending.redirectUri, { code, state })
        : redirectWith(pending.redirectUri, { error: "access_denied", error_description: "The workspace owner denied the request", state }),
  };
}
