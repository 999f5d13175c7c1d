/**
 * OAuth 2.0 Dynamic Client Registration (RFC 7591) for public PKCE clients, so an MCP
 * client can sign in without an operator pre-registering it. It is a thin front on
 * `createOAuthClient`: the same table, the same redirect-URI rules (https, or http on a
 * loopback host; exact match at authorize), and the registered client goes through the
 * same authorize → consent → token flow as any other. Nothing is issued here but a
 * `client_id`: only the workspace owner's consent (with an admin API key) grants access.
 *
 * Only `token_endpoint_auth_method: "none"` (no secret), the `code` response type and the
 * `authorization_code` / `refresh_token` grants are accepted; unknown metadata is ignored
 * (RFC 7591 §2) and not echoed. Scopes default to `read generate`; `admin` only when asked.
 */
import { ApiError } from "../../errors.ts";
import type { DbClient } from "../../db/index.ts";
import { SCOPES, type Scope } from "../principal.ts";
import { createOAuthClient, redirectUriProblem } from "./clients.ts";

export const REGISTRATION_DEFAULT_SCOPES: readonly Scope[] = ["read", "generate"];
export const REGISTRATION_LIMITS = { redirectUris: 10, uriLength: 2000, nameLength: 120, scopeLength: 200 } as const;

const GRANT_TYPES = ["authorization_code", "refresh_token"];

export interface RegisteredClient {
  client_id: string;
  client_id_issued_at: number;
  client_name: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: "none";
  scope: string;
}

type Field = { field: string; message: string };

/** `code` `invalid_redirect_uri` or `invalid_client_metadata` (RFC 7591 §3.2.2), in the Error shape, naming each field. */
function refuse(fields: Field[]): never {
  const code = fields.every((f) => f.field.startsWith("redirect_uris")) ? "invalid_redirect_uri" : "invalid_client_metadata";
  throw ApiError.badRequest(code, `Invalid client metadata: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`, { fields });
}

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === "string");

/** Validates RFC 7591 client metadata and registers a public client. */
export async function registerPublicClient(db: DbClient, metadata: unknown): Promise<RegisteredClient> {
  if (!metadata || typeof metadata !== "object" || Array.isArray(metadata)) refuse([{ field: "body", message: "must be a JSON object of client metadata" }]);
  const m = metadata as Record<string, unknown>;
  const fields: Field[] = [];

  const uris = m.redirect_uris;
  if (!isStringArray(uris) || uris.length === 0) fields.push({ field: "redirect_uris", message: "is required: a non-empty array of strings" });
  else if (uris.length > REGISTRATION_LIMITS.redirectUris) fields.push({ field: "redirect_uris", message: `at most ${REGISTRATION_LIMITS.redirectUris}` });
  else
    uris.forEach((uri, i) => {
      const problem = uri.length > REGISTRATION_LIMITS.uriLength ? `longer than ${REGISTRATION_LIMITS.uriLength} characters` : redirectUriProblem(uri);
      if (problem) fields.push({ field: `redirect_uris.${i}`, message: problem });
    });

  const method = m.token_endpoint_auth_method ?? "none";
  if (method !== "none") fields.push({ field: "token_endpoint_auth_method", message: 'must be "none": only public clients using PKCE can register' });

  const grants = m.grant_types ?? ["authorization_code"];
  if (!isStringArray(grants) || grants.some((g) => !GRANT_TYPES.includes(g)) || !grants.includes("authorization_code")) {
    fields.push({ field: "grant_types", message: `must include authorization_code and may add refresh_token (nothing else)` });
  }
  const responses = m.response_types ?? ["code"];
  if (!isStringArray(responses) || responses.some((r) => r !== "code")) fields.push({ field: "response_types", message: 'must be ["code"]' });

  let name = "Unnamed MCP client";
  if (m.client_name !== undefined) {
    if (typeof m.client_name !== "string" || !m.client_name.trim()) fields.push({ field: "client_name", message: "must be a non-empty string" });
    else if (m.client_name.length > REGISTRATION_LIMITS.nameLength) fields.push({ field: "client_name", message: `longer than ${REGISTRATION_LIMITS.nameLength} characters` });
    else name = m.client_name.trim();
  }

  let scopes: Scope[] = [...REGISTRATION_DEFAULT_SCOPES];
  if (m.scope !== undefined) {
    const requested = typeof m.scope === "string" && m.scope.length <= REGISTRATION_LIMITS.scopeLength ? m.scope.split(" ").filter(Boolean) : null;
    if (!requested || requested.length === 0 || requested.some((s) => !(SCOPES as readonly string[]).includes(s))) {
      fields.push({ field: "scope", message: `must be a space-separated subset of: ${SCOPES.join(" ")}` });
    } else {
      scopes = SCOPES.filter((s) => requested.includes(s));
    }
  }
  if (fields.length) refuse(fields);

  const client = await createOAuthClient(db, { name, redirectUris: uris as string[], scopes });
  return {
    client_id: client.client_id,
    client_id_issued_at: Math.floor(Date.parse(client.created_at) / 1000),
    client_name: client.name,
    redirect_uris: client.redirect_uris,
    grant_types: GRANT_TYPES.filter((g) => (grants as string[]).includes(g)),
    response_types: ["code"],
    token_endpoint_auth_method: "none",
    scope: client.scopes.join(" "),
  };
}
