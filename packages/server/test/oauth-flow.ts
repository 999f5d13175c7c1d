/** Helpers for the OAuth tests: a registered client, PKCE pairs, and each step of the flow over HTTP. */
import { createHash, randomBytes } from "node:crypto";
import { expect } from "vitest";
import { runAdminCommand } from "@aeriox/core/admin";
import type { TestServer } from "./harness.ts";

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

export async function registerClient(srv: TestServer, o: { redirectUris?: string[]; scopes?: string[]; name?: string } = {}) {
  return (await runAdminCommand(srv.runtime, "oauth-clients.create", {
    name: o.name ?? "Test App",
    redirect_uris: o.redirectUris ?? ["http://127.0.0.1:9/callback"],
    scopes: o.scopes ?? ["read", "generate"],
  })) as { client_id: string; name: string; redirect_uris: string[]; scopes: string[] };
}

export function authorizeUrl(p: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(p)) if (v !== undefined) q.set(k, v);
  return `/v1/oauth/authorize?${q}`;
}

export const noRedirect = { redirect: "manual" } as const;

export function form(fields: Record<string, string | undefined>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) body.set(k, v);
  return body;
}

export interface ConsentPage {
  requestId: string;
  csrf: string;
  cookie: string;
  html: string;
  res: Response;
}

/** authorize → 302 consent → GET consent; returns the form's hidden fields and the cookie. */
export async function openConsentPage(srv: TestServer, params: Record<string, string | undefined>): Promise<ConsentPage> {
  const auth = await srv.request(authorizeUrl(params), noRedirect);
  expect(auth.status).toBe(302);
  const location = auth.headers.get("location")!;
  expect(location).toMatch(/^\/v1\/oauth\/consent\?request=/);
  const res = await srv.request(location, noRedirect);
  expect(res.status).toBe(200);
  const html = await res.text();
  const requestId = /name="request" value="([^"]+)"/.exec(html)![1]!;
  const csrf = /name="csrf_token" value="([^"]+)"/.exec(html)![1]!;
  const setCookie = res.headers.get("set-cookie")!;
  const cookie = setCookie.split(";")[0]!;
  return { requestId, csrf, cookie, html, res };
}

export async function submitConsent(srv: TestServer, page: ConsentPage, fields: { decision: "approve" | "deny"; api_key: string; csrf_token?: string; cookie?: string | null }) {
  const headers: Record<string, string> = {};
  const cookie = fields.cookie === undefined ? page.cookie : fields.cookie;
  if (cookie) headers.cookie = cookie;
  return srv.request("/v1/oauth/consent", {
    method: "POST",
    ...noRedirect,
    headers,
    body: form({ request: page.requestId, csrf_token: fields.csrf_token ?? page.csrf, decision: fields.decision, api_key: fields.api_key }),
  });
}

export async function token(srv: TestServer, fields: Record<string, string | undefined>) {
  const res = await srv.request("/v1/oauth/token", { method: "POST", body: form(fields) });
  return { res, body: (await res.json()) as Record<string, any> };
}

/** The whole front channel: returns a fresh authorization code and what it is bound to. */
export async function authorizationCode(
  srv: TestServer,
  o: { clientId: string; redirectUri: string; adminKey: string; scope?: string; state?: string },
): Promise<{ code: string; verifier: string; state: string }> {
  const { verifier, challenge } = pkcePair();
  const state = o.state ?? randomBytes(8).toString("hex");
  const page = await openConsentPage(srv, {
    response_type: "code",
    client_id: o.clientId,
    redirect_uri: o.redirectUri,
    code_challenge: challenge,
    code_challenge_method: "S256",
    scope: o.scope,
    state,
  });
  const res = await submitConsent(srv, page, { decision: "approve", api_key: o.adminKey });
  expect(res.status).toBe(303);
  const location = new URL(res.headers.get("location")!);
  expect(location.origin + location.pathname).toBe(o.redirectUri);
  expect(location.searchParams.get("state")).toBe(state);
  return { code: location.searchParams.get("code")!, verifier, state };
}

export async function tokensFor(srv: TestServer, o: { clientId: string; redirectUri: string; adminKey: string; scope?: string }) {
  const { code, verifier } = await authorizationCode(srv, o);
  const { res, body } = await token(srv, { grant_type: "authorization_code", client_id: o.clientId, code, redirect_uri: o.redirectUri, code_verifier: verifier });
  expect(res.status, JSON.stringify(body)).toBe(200);
  return { ...body, code, verifier } as { access_token: string; refresh_token: string; expires_in: number; scope: string; code: string; verifier: string };
}
