// Against a real server: `pnpm start`, create a key, then
//   AERIOX_LIVE_BASE_URL=http://localhost:8080 AERIOX_LIVE_API_KEY=sk_live_… pnpm --filter @aeriox/sdk exec vitest run test/live.test.ts
// Skipped unless both are set. No msw here: every request reaches the server.
import { describe, expect, it, type TestContext } from "vitest";
import { Aeriox, AuthenticationError, BadRequestError, ConflictError, NotFoundError, PermissionDeniedError } from "../src/index.ts";

const baseUrl = process.env.AERIOX_LIVE_BASE_URL;
const apiKey = process.env.AERIOX_LIVE_API_KEY;

/** Every operation is implemented on the server (every spec operation has a handler; server test http-contract holds it); kept as a named await for readability. */
async function implemented<T>(_ctx: TestContext, p: PromiseLike<T>): Promise<T> {
  return await p;
}

describe.skipIf(!baseUrl || !apiKey)("live server", () => {
  const client = new Aeriox({ baseUrl, apiKey });

  it("health and me", async () => {
    expect(await client.health()).toEqual({ status: "ok" });
    const me = await client.me();
    expect(me.api_key.prefix).toMatch(/^sk_live_/);
  });

  it("typed errors with request ids", async () => {
    const nf = await client.jobs.get("00000000-0000-4000-8000-000000000000").catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(NotFoundError);
    expect((nf as NotFoundError).requestId).toBeTruthy();
    await expect(client.jobs.get("not-a-uuid")).rejects.toBeInstanceOf(BadRequestError);
    await expect(new Aeriox({ baseUrl, apiKey: "sk_live_wrong" }).me()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("generates a local image, waits, downloads it", async () => {
    const seen: string[] = [];
    const img = await client.images.generateAndWait(
      { model: "local/image", prompt: "sdk live test" },
      { deadline: 60_000, onProgress: (j) => seen.push(j.status) },
    );
    expect(img.status).toBe("completed");
    const bytes = new Uint8Array(await img.arrayBuffer());
    expect([...bytes.slice(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]); // PNG signature
    expect(seen.at(-1)).toBe("completed");
  });

  it("maxCostUsd asks /v1/estimate first", async (ctx) => {
    await implemented(ctx, client.estimate({ model: "local/image", prompt: "probe" }));
    await expect(client.images.generate({ model: "local/image", prompt: "too dear" }, { maxCostUsd: 0 })).rejects.toMatchObject({ name: "CostLimitError" });
  });

  it("the same Idempotency-Key replays the first job", async () => {
    const key = `sdk-live-${Date.now()}`;
    const body = { model: "local/image", prompt: "idempotent" };
    const a = await client.images.generate(body, { idempotencyKey: key });
    const b = await client.images.generate(body, { idempotencyKey: key });
    expect(b.job_id).toBe(a.job_id);
  });

  it("api keys: create, list, rotate, revoke", async (ctx) => {
    const created = await implemented(ctx, client.apiKeys.create({ name: "sdk-live", scopes: ["read"] }));
    expect(created.key).toMatch(/^sk_live_/);
    const scoped = new Aeriox({ baseUrl, apiKey: created.key });
    expect((await scoped.me()).api_key.scopes).toEqual(["read"]);
    await expect(scoped.images.generate({ model: "local/image", prompt: "no scope" })).rejects.toBeInstanceOf(PermissionDeniedError);
    expect((await client.apiKeys.list()).data.some((k) => k.id === created.key_id)).toBe(true);
    const rotated = await client.apiKeys.rotate(created.key_id);
    expect((await new Aeriox({ baseUrl, apiKey: rotated.new_key }).me()).api_key.prefix).toBeTruthy();
    await client.apiKeys.revoke(rotated.new_key_id);
    await expect(client.apiKeys.revoke(rotated.new_key_id)).rejects.toBeInstanceOf(ConflictError);
    await expect(new Aeriox({ baseUrl, apiKey: rotated.new_key }).me()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("lists characters (cursor)", async (ctx) => {
    const page = await implemented(ctx, client.characters.list({ limit: 5 }));
    expect(Array.isArray(page.data)).toBe(true);
  });

  it("cards: create, get, walk offset pages, delete", async (ctx) => {
    const tag = `sdk-live-${Date.now()}`;
    const first = await implemented(ctx, client.cards.create({ name: `${tag}-0`, card_type: "style" }));
    const ids = [first.card.id as string];
    for (let i = 1; i < 7; i++) ids.push((await client.cards.create({ name: `${tag}-${i}`, card_type: "style" })).card.id as string);
    expect((await client.cards.get(ids[0]!)).card.name).toBe(`${tag}-0`);
    const seen: string[] = [];
    for await (const card of client.cards.list({ limit: 3, type: "style" })) if (card.name.startsWith(tag)) seen.push(card.name);
    expect(seen.sort()).toEqual(ids.map((_, i) => `${tag}-${i}`).sort());
    expect(Array.isArray((await client.cards.search({ q: tag, limit: 5 })).items)).toBe(true);
    expect((await client.cards.render(ids[0]!)).rendered).toBeTruthy();
    for (const id of ids) await client.cards.delete(id);
    await expect(client.cards.get(ids[0]!)).rejects.toBeInstanceOf(NotFoundError);
  });
});

// Needs an OAuth client registered for http://localhost:9999/cb:
//   pnpm aeriox oauth-clients create --name sdk --redirect-uri http://localhost:9999/cb --scopes read,generate
const oauthClientId = process.env.AERIOX_LIVE_OAUTH_CLIENT_ID;

describe.skipIf(!baseUrl || !apiKey || !oauthClientId)("live OAuth PKCE flow", () => {
  it("authorize → consent → token → API call → refresh → revoke", async () => {
    const { createPkcePair, randomState } = await import("../src/index.ts");
    const clientId = oauthClientId!, redirectUri = "http://localhost:9999/cb";
    const anon = new Aeriox({ baseUrl, apiKey: undefined });
    const { verifier, challenge } = await createPkcePair();
    const state = randomState();
    const authorize = await fetch(anon.oauth.authorizeUrl({ clientId, redirectUri, scope: ["read"], state, codeChallenge: challenge }), { redirect: "manual" });
    expect(authorize.status).toBe(302);
    const pending = new URL(authorize.headers.get("location")!, baseUrl).searchParams.get("request")!;
    const page = await anon.oauth.consentPage(pending);
    const consent = await anon.oauth.submitConsent({ request: pending, csrfToken: page.csrfToken!, cookie: page.cookie, decision: "approve", apiKey: apiKey! });
    expect(consent.state).toBe(state);
    const tokens = await anon.oauth.exchangeCode({ code: consent.code!, codeVerifier: verifier, redirectUri, clientId });
    expect((await new Aeriox({ baseUrl, apiKey: tokens.access_token }).me()).workspace).toBeTruthy();
    const refreshed = await anon.oauth.refresh({ refreshToken: tokens.refresh_token!, clientId });
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    await anon.oauth.revoke({ token: refreshed.refresh_token!, tokenTypeHint: "refresh_token", clientId });
    await expect(anon.oauth.refresh({ refreshToken: refreshed.refresh_token!, clientId })).rejects.toBeInstanceOf(BadRequestError);
    // Codes are single-use (a replay also revokes what the code issued).
    const again = await anon.oauth.exchangeCode({ code: consent.code!, codeVerifier: verifier, redirectUri, clientId }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(BadRequestError);
  });
});

describe.skipIf(!baseUrl || !apiKey)("live server: assets", () => {
  const client = new Aeriox({ baseUrl, apiKey });
  const pngOf = async () => new Uint8Array(await (await client.images.generateAndWait({ model: "local/image", prompt: "to upload", resolution: "128x128" }, { deadline: 60_000 })).arrayBuffer());

  it("uploads bytes, a Blob and a stream, lists them, composes an upload into an MP4", async () => {
    const png = await pngOf();
    const fromBytes = await client.assets.upload(png, { contentType: "image/png" });
    expect(fromBytes).toMatchObject({ job_id: null, content_type: "image/png", size_bytes: png.byteLength, width: 128, height: 128 });
    const fromBlob = await client.assets.upload(new Blob([png], { type: "image/png" }));
    async function* chunks() {
      for (let i = 0; i < png.byteLength; i += 100) yield png.subarray(i, i + 100);
    }
    const fromStream = await client.assets.upload(chunks(), { contentType: "image/png" });
    expect(fromStream.size_bytes).toBe(png.byteLength);
    expect(new Uint8Array(await (await client.assets.download(fromStream.id)).arrayBuffer())).toEqual(png);

    const uploads: string[] = [];
    for await (const asset of client.assets.list({ source: "upload", limit: 2 })) uploads.push(asset.id);
    expect(uploads.slice(0, 3)).toEqual([fromStream.id, fromBlob.id, fromBytes.id]);

    const mismatch = await client.assets.upload(png, { contentType: "image/jpeg" }).catch((e: unknown) => e);
    expect(mismatch).toMatchObject({ status: 415, code: "content_type_mismatch" });

    const ack = await client.compose.create({ segments: [{ asset_id: fromBytes.id, start_time: 0, duration: 1 }], output_resolution: "360p" });
    const job = await client.jobs.wait((ack as { id: string }).id, { deadline: 60_000 });
    expect(job.status).toBe("completed");
    const mp4 = new Uint8Array(await (await client.assets.download(job.asset_ids![0]!)).arrayBuffer());
    expect(new TextDecoder().decode(mp4.subarray(4, 8))).toBe("ftyp");
  }, 120_000);
});
