import { describe, expect, it } from "vitest";
import { Aeriox, ConflictError, InternalServerError } from "../src/index.ts";
import { apiError, BASE_URL, http, HttpResponse, makeClient, server, url, useMsw } from "./helpers.ts";

useMsw();

const KEY_ID = "11111111-2222-4333-8444-555555555555";

describe("resources", () => {
  it("apiKeys.create/list/revoke/rotate hit the spec's routes", async () => {
    const calls: string[] = [];
    const apiKey = { id: KEY_ID, prefix: "sk_live_ab12", name: "ci", scopes: ["read"], daily_spend_cap_usd: null, created_at: "2026-11-29T00:00:00Z", last_used_at: null, expires_at: null, revoked_at: null };
    server.use(
      http.post(url("/v1/api-keys"), async ({ request }) => {
        calls.push(`create ${JSON.stringify(await request.json())} ${request.headers.has("idempotency-key")}`);
        return HttpResponse.json({ key: "sk_live_new", key_id: KEY_ID, workspace_id: KEY_ID, prefix: "sk_live_ab12", name: "ci", scopes: ["read"], daily_spend_cap_usd: null, created_at: "2026-11-29T00:00:00Z" }, { status: 201 });
      }),
      http.get(url("/v1/api-keys"), () => {
        calls.push("list");
        return HttpResponse.json({ data: [apiKey] });
      }),
      http.delete(url(`/v1/api-keys/${KEY_ID}`), () => {
        calls.push("revoke");
        return calls.filter((c) => c === "revoke").length > 1 ? apiError(409, "already_revoked") : HttpResponse.json({ ...apiKey, revoked_at: "2026-11-29T00:00:01Z" });
      }),
      http.post(url(`/v1/api-keys/${KEY_ID}/rotate`), () => {
        calls.push("rotate");
        return HttpResponse.json({ new_key: "sk_live_rot", new_key_id: KEY_ID, old_expires_at: null });
      }),
    );
    const c = makeClient();
    expect((await c.apiKeys.create({ name: "ci", scopes: ["read"] })).key).toBe("sk_live_new");
    expect((await c.apiKeys.list()).data[0]!.prefix).toBe("sk_live_ab12");
    expect((await c.apiKeys.revoke(KEY_ID)).revoked_at).toBeTruthy();
    await expect(c.apiKeys.revoke(KEY_ID)).rejects.toBeInstanceOf(ConflictError);
    expect((await c.apiKeys.rotate(KEY_ID)).new_key).toBe("sk_live_rot");
    expect(calls).toEqual(['create {"name":"ci","scopes":["read"]} true', "list", "revoke", "revoke", "rotate"]);
  });

  it("health and readiness are public; a 503 readiness is typed", async () => {
    server.use(
      http.get(url("/healthz"), ({ request }) => {
        expect(request.headers.get("authorization")).toBeNull();
        return HttpResponse.json({ status: "ok" });
      }),
      http.get(url("/readyz"), () => apiError(503, "not_ready", "A dependency is unavailable", { details: { checks: { database: "unavailable", queue: "ok" } } })),
    );
    const c = new Aeriox({ baseUrl: BASE_URL, apiKey: undefined });
    expect(await c.health()).toEqual({ status: "ok" });
    const err = await c.readiness({ maxRetries: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InternalServerError);
    expect(err).toMatchObject({ status: 503, code: "not_ready", details: { checks: { database: "unavailable" } } });
  });

  it("oauth consent: page as text, submit returns the redirect's code and state", async () => {
    server.use(
      http.get(url("/v1/oauth/consent"), ({ request }) => {
        expect(new URL(request.url).searchParams.get("request")).toBe("pa_1");
        return new HttpResponse('<form><input type="hidden" name="csrf_token" value="t"></form>', {
          headers: { "content-type": "text/html", "set-cookie": "aeriox_oauth_csrf=t; Path=/v1/oauth; HttpOnly; SameSite=Strict" },
        });
      }),
      http.post(url("/v1/oauth/consent"), async ({ request }) => {
        expect(request.headers.get("cookie")).toContain("aeriox_oauth_csrf=t"); // msw may add its own copy from its cookie store
        const form = new URLSearchParams(await request.text());
        expect(Object.fromEntries(form)).toEqual({ request: "pa_1", csrf_token: "t", decision: "approve", api_key: "sk_live_owner" });
        return new HttpResponse(null, { status: 303, headers: { location: "https://app.example/cb?code=c123&state=s1" } });
      }),
    );
    const c = new Aeriox({ baseUrl: BASE_URL, apiKey: undefined });
    const page = await c.oauth.consentPage("pa_1");
    expect(page).toMatchObject({ csrfToken: "t", cookie: "aeriox_oauth_csrf=t" });
    expect(page.html).toContain("<form>");
    const r = await c.oauth.submitConsent({ request: "pa_1", csrfToken: page.csrfToken!, cookie: page.cookie, decision: "approve", apiKey: "sk_live_owner" });
    expect(r).toMatchObject({ location: "https://app.example/cb?code=c123&state=s1", code: "c123", state: "s1" });
  });

  it("cards CRUD and search", async () => {
    const card = { id: KEY_ID, card_type: "style", name: "Noir", created_at: "2026-11-29T00:00:00Z" };
    server.use(
      http.post(url("/v1/cards"), () => HttpResponse.json({ card }, { status: 201 })),
      http.get(url(`/v1/cards/${KEY_ID}`), () => HttpResponse.json({ card, edges: [] })),
      http.delete(url(`/v1/cards/${KEY_ID}`), () => HttpResponse.json({ ok: true, soft_deleted: true })),
      http.get(url("/v1/cards/search"), ({ request }) => {
        expect(new URL(request.url).searchParams.get("q")).toBe("noir");
        return HttpResponse.json({ items: [], total: 0 });
      }),
    );
    const c = makeClient();
    await c.cards.create({ name: "Noir", card_type: "style" });
    expect((await c.cards.get(KEY_ID)).card.name).toBe("Noir");
    expect(await c.cards.delete(KEY_ID)).toEqual({ ok: true, soft_deleted: true });
    expect(await c.cards.search({ q: "noir" })).toEqual({ items: [], total: 0 });
  });
});
