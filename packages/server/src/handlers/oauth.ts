/**
 * OAuth tag: authorization code + PKCE (S256), consent page, token, revocation, JWKS.
 * Thin: the flow lives in @aeriox/core/auth/oauth/*; this file maps it to HTTP
 * (redirects, the HTML page, cookies and caching headers).
 */
import { startAuthorization, openConsent, decideConsent, tokenGrant, revokeToken, signingKeys } from "@aeriox/core/auth";
import { defineHandlers, rawResponse } from "../http/handler.ts";
import { renderConsentPage } from "../oauth-pages/consent-page.ts";

const CSRF_COOKIE = "aeriox_oauth_csrf";

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

function csrfCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return `${CSRF_COOKIE}=${value}; Path=/v1/oauth; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}

/**
 * `form-action 'self'` alone would block the consent form: browsers (Chromium at least)
 * apply form-action to the redirects that follow a form submission, and the answer to
 * the POST is a 303 to the client's redirect URI. So the page allows exactly that
 * URI's origin, nothing else.
 */
function consentCsp(redirectUri: string): string {
  return `default-src 'none'; style-src 'unsafe-inline'; form-action 'self' ${new URL(redirectUri).origin}; frame-ancestors 'none'; base-uri 'none'`;
}

export const oauthHandlers = defineHandlers({
  oauthAuthorize: async ({ services, query }) => {
    const outcome = await startAuthorization(services.db, query);
    const location = outcome.kind === "consent" ? `/v1/oauth/consent?request=${encodeURIComponent(outcome.requestId)}` : outcome.location;
    return { status: 302, body: undefined, headers: { location, "cache-control": "no-store" } };
  },

  getOAuthConsent: async ({ services, query }) => {
    const view = await openConsent(services.db, query.request);
    const secure = services.config.publicUrl.startsWith("https:");
    const maxAge = Math.max(1, Math.ceil((view.expiresAt.getTime() - Date.now()) / 1000));
    return rawResponse((res) => {
      res.setHeader("Content-Security-Policy", consentCsp(view.redirectUri));
      res.setHeader("X-Frame-Options", "DENY");
      res.setHeader("Cache-Control", "no-store");
      res.setHeader("Referrer-Policy", "no-referrer");
      res.setHeader("X-Content-Type-Options", "nosniff");
      res.setHeader("Set-Cookie", csrfCookie(view.csrfToken, maxAge, secure));
      res.status(200).type("text/html; charset=utf-8").send(renderConsentPage(view));
    });
  },

  submitOAuthConsent: async ({ services, body, headers }) => {
    const { location } = await decideConsent(services, {
      requestId: body.request,
      decision: body.decision,
      apiKey: body.api_key,
      csrfToken: body.csrf_token,
      csrfCookie: cookieValue(headers.cookie, CSRF_COOKIE),
    });
    const secure = services.config.publicUrl.startsWith("https:");
    return { status: 303, body: undefined, headers: { location, "cache-control": "no-store", "set-cookie": csrfCookie("", 0, secure) } };
  },

  oauthToken: async ({ services, body }) => {
    const tokens = await tokenGrant(services, body);
    return { status: 200, body: tokens, headers: { "cache-control": "no-store", pragma: "no-cache" } };
  },

  oauthRevoke: async ({ services, body }) => {
    await revokeToken(services, body);
    return { status: 200, body: undefined, headers: { "cache-control": "no-store" } };
  },

  oauthJwks: async ({ services }) => ({
    status: 200,
    body: { keys: await signingKeys(services.db).publicJwks() },
    headers: { "cache-control": "public, max-age=300" },
  }),
});
