// OAuth helpers for apps acting for end users: build the authorize URL, exchange the code, refresh,
// revoke. Token calls are public (no API key); the resulting access token is used as `apiKey`.
import * as api from "../generated/sdk.gen.ts";
import type { OauthJwksResponse, OauthTokenResponse } from "../generated/types.gen.ts";
import { createPkcePair, type PkcePair } from "../pkce.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

export interface AuthorizeUrlParams {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope?: string | string[];
  state?: string;
}

/**
 * OAuth POSTs: no Idempotency-Key (the spec excludes OAuth; without it a browser's form-encoded token
 * request needs no CORS preflight) and no retries (codes are single-use and a replayed refresh
 * token revokes its family).
 */
const OAUTH_POST: RequestOptions = { maxRetries: 0, idempotencyKey: false };

export interface ConsentPage {
  html: string;
  /** The form's hidden `csrf_token`, when found. */
  csrfToken: string | undefined;
  /** Cookies the page set (`name=value; …`), to send back with `submitConsent` outside browsers. */
  cookie: string | undefined;
}

export class OAuth extends APIResource {
  createPkcePair(): Promise<PkcePair> {
    return createPkcePair();
  }

  /** The URL of `GET /v1/oauth/authorize` to send the user-agent to (PKCE S256 only). */
  authorizeUrl(p: AuthorizeUrlParams): string {
    return this.client.http.buildUrl({
      url: "/v1/oauth/authorize",
      baseUrl: this.client.baseUrl,
      query: {
        response_type: "code",
        client_id: p.clientId,
        redirect_uri: p.redirectUri,
        code_challenge: p.codeChallenge,
        code_challenge_method: "S256",
        ...(p.scope !== undefined && { scope: Array.isArray(p.scope) ? p.scope.join(" ") : p.scope }),
        ...(p.state !== undefined && { state: p.state }),
      },
    });
  }

  /**
   * `GET /v1/oauth/consent?request=…`: the HTML consent page the authorize step redirects to, with
   * what a scripted approval needs: the form's `csrf_token` and the CSRF cookie to send back.
   */
  async consentPage(request: string, opts: RequestOptions = {}): Promise<ConsentPage> {
    const url = this.client.http.buildUrl({ url: "/v1/oauth/consent", baseUrl: this.client.baseUrl, query: { request } });
    const res = await this.client.transport.send(new Request(url, { headers: opts.headers }), opts);
    const html = await res.text();
    const csrf = /name="csrf_token"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="csrf_token"/.exec(html);
    // Only `name=value` pairs go back in a Cookie header; attributes (Path, HttpOnly, …) are dropped.
    const cookie = res.headers.get("set-cookie")?.split(/,(?=\s*[^;,=\s]+=)/).map((c) => c.split(";")[0]!.trim()).join("; ");
    return { html, csrfToken: csrf?.[1] ?? csrf?.[2], cookie: cookie || undefined };
  }

  /**
   * `POST /v1/oauth/consent`: what the consent page's form does, for scripted flows and tests.
   * Resolves with the 303 redirect target and its `code`/`state`/`error` (Node, Bun, Deno; browsers
   * hide redirect targets from fetch, so there the page's own form must be used).
   */
  async submitConsent(
    p: { request: string; csrfToken: string; decision: "approve" | "deny"; apiKey: string; cookie?: string | undefined },
    opts: RequestOptions = {},
  ): Promise<{ location: string; code?: string; state?: string; error?: string }> {
    const form = new URLSearchParams({ request: p.request, csrf_token: p.csrfToken, decision: p.decision, api_key: p.apiKey });
    const req = new Request(this.client.http.buildUrl({ url: "/v1/oauth/consent", baseUrl: this.client.baseUrl }), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...(p.cookie && { cookie: p.cookie }), ...opts.headers },
      body: form,
    });
    const res = await this.client.transport.send(req, { ...OAUTH_POST, ...opts, redirect: "manual" });
    const location = res.headers.get("location") ?? "";
    const q = location ? new URL(location, this.client.baseUrl).searchParams : new URLSearchParams();
    const pick = (k: string) => q.get(k) ?? undefined;
    return { location, code: pick("code"), state: pick("state"), error: pick("error") };
  }

  /**
   * `POST /v1/oauth/token` with `grant_type=authorization_code` (form-encoded).
   * Not retried by default: codes are single-use and a replayed code revokes what it issued.
   */
  exchangeCode(p: { code: string; codeVerifier: string; redirectUri: string; clientId: string }, opts?: RequestOptions): Promise<OauthTokenResponse> {
    const body = { grant_type: "authorization_code", code: p.code, code_verifier: p.codeVerifier, redirect_uri: p.redirectUri, client_id: p.clientId } as const;
    return this.client.request(api.oauthToken, { body }, { ...OAUTH_POST, ...opts });
  }

  /**
   * `POST /v1/oauth/token` with `grant_type=refresh_token`. Refresh tokens rotate: store the new one.
   * Not retried by default: replaying a rotated refresh token revokes the whole token family.
   */
  refresh(p: { refreshToken: string; clientId: string }, opts?: RequestOptions): Promise<OauthTokenResponse> {
    const body = { grant_type: "refresh_token", refresh_token: p.refreshToken, client_id: p.clientId } as const;
    return this.client.request(api.oauthToken, { body }, { ...OAUTH_POST, ...opts });
  }

  /** `POST /v1/oauth/revoke` (RFC 7009: succeeds whether or not the token was valid). */
  async revoke(p: { token: string; tokenTypeHint?: "access_token" | "refresh_token"; clientId?: string }, opts?: RequestOptions): Promise<void> {
    const body = { token: p.token, ...(p.tokenTypeHint && { token_type_hint: p.tokenTypeHint }), ...(p.clientId && { client_id: p.clientId }) };
    await this.client.request(api.oauthRevoke, { body }, { idempotencyKey: false, ...opts });
  }

  /** `GET /v1/oauth/jwks`: keys that verify access-token signatures. */
  jwks(opts?: RequestOptions): Promise<OauthJwksResponse> {
    return this.client.request(api.oauthJwks, {}, opts);
  }
}
