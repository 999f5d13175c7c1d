/**
 * Registered public clients (no secret: PKCE proves possession). Redirect URIs are
 * compared exactly; only https URIs, or http on a loopback host, can be registered.
 */
import { randomBytes } from "node:crypto";
import { ApiError } from "../../errors.ts";
import type { DbClient } from "../../db/index.ts";
import { SCOPES, type Scope } from "../principal.ts";

export interface OAuthClientView {
  client_id: string;
  name: string;
  redirect_uris: string[];
  scopes: Scope[];
  created_at: string;
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Why a redirect URI cannot be registered, or null when it can. */
export function redirectUriProblem(uri: string): string | null {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "must be an absolute URI";
  }
  if (url.hash || uri.includes("#")) return "must not contain a fragment";
  if (url.username || url.password) return "must not contain user information";
  if (url.protocol === "https:") return null;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return "must use https, or http on localhost/127.0.0.1/[::1]";
}

function toView(c: { id: string; name: string; redirectUris: string[]; allowedScopes: string[]; createdAt: Date }): OAuthClientView {
  return { client_id: c.id, name: c.name, redirect_uris: c.redirectUris, scopes: c.allowedScopes as Scope[], created_at: c.createdAt.toISOString() };
}

export async function createOAuthClient(db: DbClient, input: { name: string; redirectUris: string[]; scopes: string[] }): Promise<OAuthClientView> {
  const fields: Array<{ field: string; message: string }> = [];
  input.redirectUris.forEach((uri, i) => {
    const problem = redirectUriProblem(uri);
    if (problem) fields.push({ field: `redirect_uris.${i}`, message: problem });
  });
  const unknown = input.scopes.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (unknown.length) fields.push({ field: "scopes", message: `unknown scope(s) ${unknown.join(", ")}; allowed: ${SCOPES.join(", ")}` });
  if (fields.length) throw ApiError.badRequest("invalid_request", `Invalid OAuth client: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`, { fields });
  const client = await db.oAuthClient.create({
    data: {
      id: `client_${randomBytes(12).toString("hex")}`,
      name: input.name,
      redirectUris: [...new Set(input.redirectUris)],
      allowedScopes: SCOPES.filter((s) => input.scopes.includes(s)),
    },
  });
  return toView(client);
}

export async function listOAuthClients(db: DbClient): Promise<OAuthClientView[]> {
  return (await db.oAuthClient.findMany({ orderBy: { createdAt: "asc" } })).map(toView);
}

export async function findOAuthClient(db: DbClient, clientId: string) {
  if (clientId.length > 200) return null;
  return db.oAuthClient.findUnique({ where: { id: clientId } });
}
