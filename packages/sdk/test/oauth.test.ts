import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Aeriox, createPkcePair, pkceChallenge } from "../src/index.ts";
import { BASE_URL, http, HttpResponse, server, url, useMsw } from "./helpers.ts";

useMsw();

const b64url = (b: Buffer) => b.toString("base64").replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("OAuth PKCE", () => {
  it("challenge = base64url(sha256(verifier))", async () => {
    for (let i = 0; i < 20; i++) {
      const pair = await createPkcePair();
      expect(pair.method).toBe("S256");
      expect(pair.verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
      expect(pair.challenge).toBe(b64url(createHash("sha256").update(pair.verifier).digest()));
    }
  });

  it("matches the RFC 7636 appendix B example", async () => {
    expect(await pkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });

  it("authorizeUrl carries the PKCE parameters", () => {
    const client = new Aeriox({ baseUrl: BASE_URL });
    const u = new URL(client.oauth.authorizeUrl({ clientId: "app1", redirectUri: "https://app.example/cb", scope: ["read", "generate"], state: "s1", codeChallenge: "abc" }));
    expect(u.origin + u.pathname).toBe(url("/v1/oauth/authorize"));
    expect(Object.fromEntries(u.searchParams)).toEqual({
      response_type: "code", client_id: "app1", redirect_uri: "https://app.example/cb", code_challenge: "abc",
      code_challenge_method: "S256", scope: "read generate", state: "s1",
    });
  });

  it("exchangeCode, refresh and revoke are form-encoded and need no API key", async () => {
    const forms: Array<Record<string, string>> = [];
    const record = async ({ request }: { request: Request }) => {
      expect(request.headers.get("content-type")).toMatch(/application\/x-www-form-urlencoded/);
      expect(request.headers.get("authorization")).toBeNull();
      expect(request.headers.get("idempotency-key")).toBeNull(); // keeps browser requests preflight-free
      forms.push(Object.fromEntries(new URLSearchParams(await request.text())));
    };
    server.use(
      http.post(url("/v1/oauth/token"), async (ctx) => {
        await record(ctx);
        return HttpResponse.json({ access_token: "at", token_type: "Bearer", expires_in: 900, refresh_token: "rt2" });
      }),
      http.post(url("/v1/oauth/revoke"), async (ctx) => {
        await record(ctx);
        return new HttpResponse(null, { status: 200 });
      }),
    );
    const client = new Aeriox({ baseUrl: BASE_URL, apiKey: undefined });
    const tok = await client.oauth.exchangeCode({ code: "c1", codeVerifier: "v1", redirectUri: "https://app.example/cb", clientId: "app1" });
    expect(tok.access_token).toBe("at");
    await client.oauth.refresh({ refreshToken: "rt1", clientId: "app1" });
    await client.oauth.revoke({ token: "rt2", tokenTypeHint: "refresh_token" });
    expect(forms).toEqual([
      { grant_type: "authorization_code", code: "c1", code_verifier: "v1", redirect_uri: "https://app.example/cb", client_id: "app1" },
      { grant_type: "refresh_token", refresh_token: "rt1", client_id: "app1" },
      { token: "rt2", token_type_hint: "refresh_token" },
    ]);
  });
});
