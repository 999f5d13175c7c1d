/**
 * Stateful flows: valid requests that follow the links between operations (create → get → list →
 * delete → 404; generate → poll → events → assets; cards with edges → render; keys created →
 * rotated → revoked → 401), spending only through `local/*` models within the budget, and
 * cleaning up what they created.
 */
import type { Budget } from "./budget.ts";
import type { CallOptions, CallResult, Client } from "./client.ts";

export interface FlowContext {
  client: Client;
  budget: Budget;
  key: string;
  key2: string | undefined;
  allowPaidModels: boolean;
  /** Whether an operation is in scope (`--only TAG`). */
  included(operationId: string): boolean;
  log(line: string): void;
  /** Ids made by the flows, for the negative and fuzz phases. */
  ids: { cardId?: string; jobId?: string; assetId?: string; uploadedAssetId?: string; characterId?: string; keyId?: string; prismId?: string };
  /** Undo steps, run last to first. */
  cleanup: Array<{ what: string; run: () => Promise<void> }>;
  /** Operations a flow could not run, with the reason. */
  notRun: Map<string, string>;
  /** What cleanup removed (filled at the end). */
  cleanupReport?: string[];
}

type Json = Record<string, unknown>;
const TINY_PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const TERMINAL = new Set(["completed", "failed", "cancelled", "nsfw_blocked"]);
const randomUuid = () => crypto.randomUUID();

async function call(ctx: FlowContext, operationId: string, o: CallOptions): Promise<CallResult | null> {
  if (!ctx.included(operationId)) return null;
  return ctx.client.call(operationId, o);
}

const obj = (r: CallResult | null): Json => (r && r.json && typeof r.json === "object" ? (r.json as Json) : {});

/** Prices of the deployment (`getPricing`), by operation id. */
interface Price {
  price_usd: number;
  unit: string;
  provider: string;
  available: boolean;
}

async function prices(ctx: FlowContext): Promise<Map<string, Price>> {
  const res = await ctx.client.call("getPricing", { label: "prices for the budget", key: null, expect: [200] });
  const list = (obj(res).operations ?? []) as Array<Price & { operation_id: string }>;
  return new Map(list.map((p) => [p.operation_id, p]));
}

/** Work the deployment does itself (offline models, ffmpeg, prisms) rather than a paid provider. */
const isLocal = (provider: string | undefined) => !provider || /^(local|aeriox|compose|internal)$/i.test(provider);

export async function runFlows(ctx: FlowContext): Promise<void> {
  const table = await prices(ctx);
  await metaFlow(ctx);
  await keysFlow(ctx);
  await cardsFlow(ctx);
  await nodesFlow(ctx);
  await generationFlow(ctx, table);
  await characterFlow(ctx, table);
  await walletFlow(ctx);
  await publicFlows(ctx);
  if (ctx.key2) await crossWorkspaceFlow(ctx);
}

async function metaFlow(ctx: FlowContext) {
  await call(ctx, "getOpenApiSpec", { label: "the spec", key: null, expect: [200] });
  await call(ctx, "getHealth", { label: "liveness", key: null, expect: [200] });
  await call(ctx, "getReadiness", { label: "readiness", key: null, expect: [200, 503] });
  await call(ctx, "getMe", { label: "who am I", expect: [200] });
  await call(ctx, "getCredits", { label: "credits", expect: [200] });
  await call(ctx, "getWallet", { label: "wallet", expect: [200] });
  await call(ctx, "getPricing", { label: "pricing", key: null, expect: [200] });
  await call(ctx, "listModels", { label: "models", expect: [200] });
  await call(ctx, "listApiKeys", { label: "keys", expect: [200] });
  const prisms = await call(ctx, "listPrisms", { label: "prisms", expect: [200] });
  const list = (obj(prisms).prisms ?? obj(prisms).data ?? obj(prisms).items ?? prisms?.json) as Json[] | undefined;
  const first = Array.isArray(list) ? list.find((p) => (p.category ?? p.kind) !== "audio" && (p.media_type ?? "image") !== "audio") ?? list[0] : undefined;
  if (first) ctx.ids.prismId = String(first.id ?? first.prism_id);
  await call(ctx, "listPrisms", { label: "prisms by category", query: { category: "image" }, expect: [200] });
}

async function keysFlow(ctx: FlowContext) {
  const created = await call(ctx, "createApiKey", { label: "create a read-only key", json: { name: "aeriox-contract-test", scopes: ["read"] }, expect: [201] });
  const key = obj(created).key as string | undefined;
  const keyId = obj(created).key_id as string | undefined;
  if (!key || !keyId) {
    ctx.notRun.set("rotateApiKey", "createApiKey did not create a key");
    return;
  }
  ctx.ids.keyId = keyId;
  const revoke = async (id: string) => {
    await ctx.client.call("revokeApiKey", { label: "cleanup: revoke", pathParams: { id }, expect: [200, 404, 409] });
  };
  ctx.cleanup.push({ what: `key ${keyId}`, run: () => revoke(keyId) });
  await call(ctx, "getMe", { label: "the new key works", key, expect: [200] });
  await call(ctx, "createCard", { label: "a read-only key cannot create (403)", key, json: { card_type: "character", name: "ct forbidden" }, expect: [403] });
  await call(ctx, "listApiKeys", { label: "the new key is listed", expect: [200] });

  const rotated = await call(ctx, "rotateApiKey", { label: "rotate", pathParams: { id: keyId }, expect: [200] });
  const newKey = obj(rotated).new_key as string | undefined;
  const newKeyId = obj(rotated).new_key_id as string | undefined;
  if (newKey && newKeyId) {
    ctx.cleanup.push({ what: `key ${newKeyId}`, run: () => revoke(newKeyId) });
    const oldExpires = obj(rotated).old_expires_at as string | null | undefined;
    const oldStillValid = !oldExpires || Date.parse(oldExpires) > Date.now() + 1000;
    await call(ctx, "getMe", { label: oldStillValid ? "the old key works until it expires" : "the old key expired", key, expect: [oldStillValid ? 200 : 401] });
    await call(ctx, "getMe", { label: "the rotated key works", key: newKey, expect: [200] });
    await call(ctx, "rotateApiKey", { label: "rotating a rotated key (409)", pathParams: { id: keyId }, expect: [409] });
    await call(ctx, "revokeApiKey", { label: "revoke the rotated key", pathParams: { id: newKeyId }, expect: [200] });
    await call(ctx, "getMe", { label: "a revoked key is refused (401)", key: newKey, expect: [401] });
    await call(ctx, "revokeApiKey", { label: "revoking twice (409)", pathParams: { id: newKeyId }, expect: [409] });
  }
  await call(ctx, "revokeApiKey", { label: "revoke the old key", pathParams: { id: keyId }, expect: [200, 409] });
  await call(ctx, "getMe", { label: "the old key is refused after revocation (401)", key, expect: [401] });
  await call(ctx, "revokeApiKey", { label: "unknown key (404)", pathParams: { id: randomUuid() }, expect: [404] });
  await call(ctx, "rotateApiKey", { label: "unknown key (404)", pathParams: { id: randomUuid() }, expect: [404] });
}

const cardOf = (r: CallResult | null): Json => (obj(r).card ?? obj(r).node ?? obj(r)) as Json;

async function cardsFlow(ctx: FlowContext) {
  const a = cardOf(await call(ctx, "createCard", { label: "create a card", json: { card_type: "character", name: "Contract Test Ada", description: "aeriox contract test" }, expect: [201] }));
  if (typeof a.id !== "string") return;
  ctx.ids.cardId = a.id;
  ctx.cleanup.push({ what: `card ${a.id}`, run: async () => void (await ctx.client.call("deleteCard", { label: "cleanup: delete", pathParams: { id: a.id as string }, expect: [200, 404] })) });
  const b = cardOf(
    await call(ctx, "createCard", {
      label: "create a card with an edge",
      json: { card_type: "scene", name: "Contract Test Scene", edges: [{ to_card_id: a.id, edge_type: "features" }] },
      headers: { "idempotency-key": `ct-${randomUuid()}` },
      expect: [201],
    }),
  );
  if (typeof b.id === "string") {
    ctx.cleanup.push({ what: `card ${b.id}`, run: async () => void (await ctx.client.call("deleteCard", { label: "cleanup: delete", pathParams: { id: b.id as string }, expect: [200, 404] })) });
    await call(ctx, "getCard", { label: "get", pathParams: { id: b.id }, expect: [200] });
    const rendered = await call(ctx, "renderCard", { label: "render follows the edge", pathParams: { id: b.id }, expect: [200] });
    if (rendered && rendered.status === 200 && !rendered.text.includes(a.id)) ctx.client.note("renderCard", "render follows the edge", "the rendered card does not mention the card its edge reaches");
    await call(ctx, "listCards", { label: "list", query: { limit: 50 }, expect: [200] });
    await call(ctx, "searchCards", { label: "search", query: { q: "Contract Test" }, expect: [200, 503] });
    await call(ctx, "deleteCard", { label: "delete", pathParams: { id: b.id }, expect: [200] });
    await call(ctx, "getCard", { label: "deleted (404)", pathParams: { id: b.id }, expect: [404] });
    await call(ctx, "renderCard", { label: "deleted (404)", pathParams: { id: b.id }, expect: [404] });
  }
  await call(ctx, "deleteCard", { label: "unknown (404)", pathParams: { id: randomUuid() }, expect: [404] });
}

async function nodesFlow(ctx: FlowContext) {
  const node = cardOf(await call(ctx, "createNode", { label: "create (legacy)", json: { node_type: "character", name: "Contract Test Node" }, expect: [201] }));
  if (typeof node.id !== "string") return;
  const id = node.id;
  ctx.cleanup.push({ what: `node ${id}`, run: async () => void (await ctx.client.call("deleteNode", { label: "cleanup: delete", pathParams: { id }, expect: [200, 404] })) });
  await call(ctx, "getNode", { label: "get", pathParams: { id }, expect: [200] });
  await call(ctx, "listNodes", { label: "list", expect: [200] });
  await call(ctx, "deleteNode", { label: "delete", pathParams: { id }, expect: [200] });
  await call(ctx, "getNode", { label: "deleted (404)", pathParams: { id }, expect: [404] });
}

/** Polls a job to a terminal state (GET /v1/jobs/{id}). */
async function poll(ctx: FlowContext, jobId: string, label: string, timeoutMs = 90_000): Promise<Json> {
  const deadline = Date.now() + timeoutMs;
  let job: Json = {};
  let delay = 100;
  while (Date.now() < deadline) {
    const res = await ctx.client.call("getJob", { label: `poll ${label}`, pathParams: { id: jobId }, expect: [200] });
    job = obj(res);
    if (!res || res.status !== 200 || TERMINAL.has(String(job.status))) return job;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 1000);
  }
  ctx.client.note("getJob", `poll ${label}`, `job ${jobId} not terminal after ${timeoutMs} ms`, "transport");
  return job;
}

/** Estimates through the API (`estimateGeneration`), falling back to the price list. */
async function estimate(ctx: FlowContext, body: Json, fallback: number): Promise<number> {
  if (!ctx.client.spec.byId.has("estimateGeneration")) return fallback;
  const res = await ctx.client.call("estimateGeneration", { label: `estimate ${String(body.model)}`, json: body, expect: [200] });
  const usd = obj(res).usd;
  return typeof usd === "number" ? usd : fallback;
}

async function spend(ctx: FlowContext, operationId: string, label: string, body: Json, usd: number, extra: Partial<CallOptions> = {}): Promise<Json | null> {
  if (!ctx.included(operationId)) return null;
  if (!ctx.budget.allow(usd, `${operationId} ${label}`)) {
    ctx.notRun.set(operationId, ctx.notRun.get(operationId) ?? `budget: the next call could exceed --budget-usd`);
    return null;
  }
  const res = await ctx.client.call(operationId, { label, json: body, expect: [202], ...extra });
  if (res && res.status >= 200 && res.status < 300) ctx.budget.record(res.json, usd);
  return res && res.status === 202 ? obj(res) : null;
}

async function generationFlow(ctx: FlowContext, table: Map<string, Price>) {
  // A picture through the offline image model: poll, events, asset, download (full, range, bad range).
  const imageBody = { model: "local/image", prompt: "aeriox contract test: a lighthouse", resolution: "64x64" };
  const image = await spend(ctx, "generateImage", "local/image", imageBody, await estimate(ctx, imageBody, 0.0001));
  if (image?.job_id) {
    const jobId = String(image.job_id);
    ctx.ids.jobId = jobId;
    const done = await poll(ctx, jobId, "image");
    await call(ctx, "streamJobEvents", { label: "events of a finished job", pathParams: { id: jobId }, expect: [200], streamMs: 5000 });
    await call(ctx, "getGeneration", { label: "legacy view of the job", pathParams: { id: jobId }, expect: [200, 404] });
    const assetId = (done.asset_ids as string[] | null | undefined)?.[0];
    if (assetId) {
      ctx.ids.assetId = assetId;
      const asset = obj(await call(ctx, "getAsset", { label: "asset of the job", pathParams: { id: assetId }, expect: [200] }));
      const signed = typeof asset.url === "string" ? asset.url : typeof asset.signed_url === "string" ? asset.signed_url : (done.output_urls as string[] | undefined)?.[0];
      if (signed) {
        const u = new URL(signed, ctx.client.baseUrl);
        const query = u.search;
        await call(ctx, "downloadAsset", { label: "download", rawPath: u.pathname, query, key: null, expect: [200, 302] });
        await call(ctx, "downloadAsset", { label: "download a byte range", rawPath: u.pathname, query, key: null, headers: { range: "bytes=0-9" }, expect: [206, 302] });
        await call(ctx, "downloadAsset", { label: "range beyond the end (416)", rawPath: u.pathname, query, key: null, headers: { range: "bytes=999999999-" }, expect: [416, 302] });
        const tampered = query.replace(/signature=([^&]{4})/, (_, s: string) => `signature=${s === "AAAA" ? "BBBB" : "AAAA"}`);
        await call(ctx, "downloadAsset", { label: "tampered signature (403)", rawPath: u.pathname, query: tampered, key: null, expect: [403] });
      }
    }
    // Idempotency: the same key with another body is refused.
    const idem = `ct-${randomUuid()}`;
    const echo = { model: "local/echo", prompt: "aeriox contract test: idempotency" };
    const first = await spend(ctx, "generateImage", "local/echo with an Idempotency-Key", echo, 0.00001, { headers: { "idempotency-key": idem } });
    if (first && ctx.budget.allow(0.00001, "idempotency reuse")) {
      await call(ctx, "generateImage", { label: "Idempotency-Key reused with another body (409)", json: { ...echo, prompt: "another prompt" }, headers: { "idempotency-key": idem }, expect: [409] });
    }
  }

  // A video through the offline model, cancelled at once (or already complete: 409).
  const videoBody = { model: "local/video", prompt: "aeriox contract test: waves", duration: 1, resolution: "64x64" };
  const video = await spend(ctx, "generateVideo", "local/video", videoBody, await estimate(ctx, { model: videoBody.model, prompt: videoBody.prompt, duration: 1 }, 0.001));
  if (video?.job_id) {
    await call(ctx, "cancelJob", { label: "cancel a running job (or 409 when already finished)", pathParams: { id: String(video.job_id) }, expect: [200, 409] });
    await poll(ctx, String(video.job_id), "video");
    await call(ctx, "cancelJob", { label: "cancel a finished job (409)", pathParams: { id: String(video.job_id) }, expect: [409] });
  }

  const audioBody = { model: "local/tts", text: "Contract test." };
  const audio = await spend(ctx, "generateAudio", "local/tts", audioBody, await estimate(ctx, { model: "local/tts", prompt: audioBody.text }, 0.0001));
  if (audio?.job_id) await poll(ctx, String(audio.job_id), "audio");

  const legacyBody = { model: "local/echo", prompt: "aeriox contract test: legacy generate" };
  const legacy = await spend(ctx, "createGeneration", "local/echo", legacyBody, await estimate(ctx, legacyBody, 0.00001));
  if (legacy?.job_id) {
    await poll(ctx, String(legacy.job_id), "legacy generate");
    await call(ctx, "getGeneration", { label: "get", pathParams: { id: String(legacy.job_id) }, expect: [200] });
  }

  if (ctx.ids.assetId) {
    const minute = table.get("compose.stitch_per_minute");
    const composeUsd = minute ? minute.price_usd : 0.05;
    if (minute && !isLocal(minute.provider) && !ctx.allowPaidModels) ctx.notRun.set("composeVideo", `compose runs on ${minute.provider} (paid): pass --allow-paid-models`);
    else {
      const compose = await spend(ctx, "composeVideo", "one still, one second", { segments: [{ asset_id: ctx.ids.assetId, start_time: 0, duration: 1 }] }, composeUsd);
      if (compose?.job_id) await poll(ctx, String(compose.job_id), "compose");
    }
    const prism = table.get("prism.apply");
    if (ctx.ids.prismId && prism) {
      if (!isLocal(prism.provider) && !ctx.allowPaidModels) ctx.notRun.set("applyPrism", `prisms run on ${prism.provider} (paid): pass --allow-paid-models`);
      else {
        const applied = await spend(ctx, "applyPrism", `prism ${ctx.ids.prismId} on the picture`, { asset_id: ctx.ids.assetId }, prism.price_usd, { pathParams: { id: ctx.ids.prismId } });
        if (applied?.job_id) await poll(ctx, String(applied.job_id), "prism");
      }
    }
  }
  await jobListFlow(ctx);
  await assetUploadFlow(ctx);
  await call(ctx, "getJob", { label: "unknown job (404)", pathParams: { id: randomUuid() }, expect: [404] });
  await call(ctx, "cancelJob", { label: "unknown job (404)", pathParams: { id: randomUuid() }, expect: [404] });
  await call(ctx, "streamJobEvents", { label: "unknown job (404)", pathParams: { id: randomUuid() }, expect: [404] });
  await call(ctx, "getAsset", { label: "unknown asset (404)", pathParams: { id: randomUuid() }, expect: [404] });
  await call(ctx, "applyPrism", { label: "unknown prism (404)", pathParams: { id: "no-such-prism-ct" }, json: { asset_id: randomUuid() }, expect: [404] });
}

/** Uploads (free): a PNG stored and read back, its type checked against its bytes; the asset list pages and filters. */
async function assetUploadFlow(ctx: FlowContext) {
  const png = Buffer.from(TINY_PNG.slice(TINY_PNG.indexOf(",") + 1), "base64");
  const uploaded = obj(await call(ctx, "uploadAsset", { label: "a PNG", body: new Uint8Array(png), contentType: "image/png", expect: [201] }));
  if (typeof uploaded.id === "string") {
    ctx.ids.uploadedAssetId = uploaded.id;
    await call(ctx, "getAsset", { label: "the uploaded asset", pathParams: { id: uploaded.id }, expect: [200] });
  }
  await call(ctx, "uploadAsset", { label: "PNG bytes sent as image/jpeg (415)", body: new Uint8Array(png), contentType: "image/jpeg", expect: [415] });
  await call(ctx, "uploadAsset", { label: "bytes of no supported format (415)", body: "plain text, not a picture", contentType: "image/png", expect: [415] });
  await call(ctx, "uploadAsset", { label: "an unsupported type (415)", body: new Uint8Array(png), contentType: "image/gif", expect: [415] });
  const first = obj(await call(ctx, "listAssets", { label: "first page", query: { limit: 1 }, expect: [200] }));
  if (typeof first.next_cursor === "string") await call(ctx, "listAssets", { label: "next page", query: { limit: 1, cursor: first.next_cursor }, expect: [200] });
  await call(ctx, "listAssets", { label: "uploaded images", query: { source: "upload", kind: "image", content_type: "image/png" }, expect: [200] });
  await call(ctx, "listAssets", { label: "a cursor the API did not return (400)", query: { cursor: "bm90LWEtY3Vyc29y" }, expect: [400] });
  const doomed = obj(await call(ctx, "uploadAsset", { label: "a PNG to delete", body: new Uint8Array(png), contentType: "image/png", expect: [201] }));
  if (typeof doomed.id === "string") {
    await call(ctx, "deleteAsset", { label: "delete", pathParams: { id: doomed.id }, expect: [204] });
    await call(ctx, "getAsset", { label: "a deleted asset (404)", pathParams: { id: doomed.id }, expect: [404] });
    await call(ctx, "deleteAsset", { label: "deleted already (404)", pathParams: { id: doomed.id }, expect: [404] });
  }
  await call(ctx, "deleteAsset", { label: "unknown asset (404)", pathParams: { id: randomUuid() }, expect: [404] });
}

/** The job list (pages through its cursor, filters) and usage over the jobs the flows made. */
async function jobListFlow(ctx: FlowContext) {
  const first = obj(await call(ctx, "listJobs", { label: "first page", query: { limit: 2 }, expect: [200] }));
  if (typeof first.next_cursor === "string") await call(ctx, "listJobs", { label: "next page", query: { limit: 2, cursor: first.next_cursor }, expect: [200] });
  await call(ctx, "listJobs", { label: "filtered", query: { status: "completed", type: "image", model: "local/image", created_after: "2020-01-01T00:00:00Z" }, expect: [200] });
  await call(ctx, "listJobs", { label: "a cursor the API did not return (400)", query: { cursor: "bm90LWEtY3Vyc29y" }, expect: [400] });
  await call(ctx, "getUsage", { label: "usage by day", expect: [200] });
  await call(ctx, "getUsage", { label: "usage by model", query: { group_by: "model" }, expect: [200] });
  await call(ctx, "getUsage", { label: "range over 366 days (400)", query: { from: "2020-01-01T00:00:00Z", to: "2022-01-01T00:00:00Z" }, expect: [400] });
}

async function characterFlow(ctx: FlowContext, table: Map<string, Price>) {
  // The trainer depends on the deployment: with a paid provider configured (fal available) training runs
  // there (the most expensive `char.*` price) and only with --allow-paid-models; else offline (the cheapest).
  const trainers = [...table.entries()].filter(([id, p]) => id.startsWith("char.") && p.available).map(([, p]) => p.price_usd);
  const paidProvider = [...table.values()].some((p) => p.available && !isLocal(p.provider));
  if (paidProvider && !ctx.allowPaidModels) {
    ctx.notRun.set("createCharacter", "a paid provider is configured, so character training may run on it: pass --allow-paid-models");
    await call(ctx, "listCharacters", { label: "list", expect: [200] });
    return;
  }
  const usd = trainers.length ? (paidProvider ? Math.max(...trainers) : Math.min(...trainers)) : 0.01;
  const job = await spend(ctx, "createCharacter", "train from one picture", { name: "Contract Test Character", image_urls: [TINY_PNG] }, usd);
  const characterId = job?.character_id as string | undefined;
  if (characterId) {
    ctx.ids.characterId = characterId;
    ctx.cleanup.push({ what: `character ${characterId}`, run: async () => void (await ctx.client.call("deleteCharacter", { label: "cleanup: delete", pathParams: { id: characterId }, expect: [204, 404] })) });
    if (job?.job_id) await poll(ctx, String(job.job_id), "character training");
    await call(ctx, "getCharacter", { label: "get", pathParams: { id: characterId }, expect: [200] });
    await call(ctx, "listCharacters", { label: "list", expect: [200] });
    await call(ctx, "deleteCharacter", { label: "delete", pathParams: { id: characterId }, expect: [204] });
    await call(ctx, "getCharacter", { label: "deleted (404)", pathParams: { id: characterId }, expect: [404] });
  } else await call(ctx, "listCharacters", { label: "list", expect: [200] });
}

async function walletFlow(ctx: FlowContext) {
  // No money moves: a top-up below the minimum is refused; auto-recharge is only set to what it already is.
  await call(ctx, "topUpWallet", { label: "below the minimum (400)", json: { amount_usd: 1 }, expect: [400] });
  const wallet = obj(await ctx.client.call("getWallet", { label: "auto-recharge state", expect: [200] }));
  const auto = wallet.auto_recharge as Json | undefined;
  if (auto && auto.enabled === false) await call(ctx, "configureAutoRecharge", { label: "keep it disabled", json: { enabled: false }, expect: [200] });
  await call(ctx, "configureAutoRecharge", { label: "threshold out of range (400)", json: { enabled: true, threshold_usd: 0, amount_usd: 5, stripe_payment_method_id: "pm_ct" }, expect: [400] });
  await call(ctx, "getWallet", { label: "wallet with transactions", query: { limit: 5 }, expect: [200, 400] });
}

async function publicFlows(ctx: FlowContext) {
  await call(ctx, "handleStripeWebhook", { label: "unsigned event (400)", key: null, json: { id: "evt_ct", type: "payment_intent.succeeded" }, expect: [400] });
  await call(ctx, "handleStripeWebhook", { label: "bad signature (400)", key: null, json: { id: "evt_ct" }, headers: { "stripe-signature": "t=1,v1=00" }, expect: [400] });
  await call(ctx, "oauthJwks", { label: "keys", key: null, expect: [200] });
  await call(ctx, "oauthAuthorize", {
    label: "unknown client (400)",
    key: null,
    query: { response_type: "code", client_id: "ct-unknown-client", redirect_uri: "http://127.0.0.1:9/cb", scope: "read", state: "s", code_challenge: "x".repeat(43), code_challenge_method: "S256" },
    expect: [400],
  });
  await call(ctx, "getOAuthConsent", { label: "no pending request (400)", key: null, query: { request: "ct-unknown" }, expect: [400] });
  await call(ctx, "submitOAuthConsent", { label: "no pending request (400)", key: null, body: "request=ct&csrf_token=x&decision=approve&api_key=sk_live_x", contentType: "application/x-www-form-urlencoded", expect: [400, 401] });
  await call(ctx, "oauthToken", { label: "unknown code (400)", key: null, body: `grant_type=authorization_code&code=ct&redirect_uri=${encodeURIComponent("http://127.0.0.1:9/cb")}&client_id=ct&code_verifier=${"v".repeat(43)}`, contentType: "application/x-www-form-urlencoded", expect: [400] });
  await call(ctx, "oauthRevoke", { label: "unknown token (200, RFC 7009)", key: null, body: "token=ct-unknown-token", contentType: "application/x-www-form-urlencoded", expect: [200] });
}

/** Another workspace's ids are not found (never 403, which would confirm they exist). */
async function crossWorkspaceFlow(ctx: FlowContext) {
  const other = ctx.key2!;
  const ids = ctx.ids;
  if (ids.jobId) {
    await call(ctx, "getJob", { label: "another workspace's job (404)", key: other, pathParams: { id: ids.jobId }, expect: [404] });
    await call(ctx, "cancelJob", { label: "another workspace's job (404)", key: other, pathParams: { id: ids.jobId }, expect: [404] });
  }
  if (ids.assetId) await call(ctx, "getAsset", { label: "another workspace's asset (404)", key: other, pathParams: { id: ids.assetId }, expect: [404] });
  if (ids.uploadedAssetId) await call(ctx, "getAsset", { label: "another workspace's upload (404)", key: other, pathParams: { id: ids.uploadedAssetId }, expect: [404] });
  if (ids.uploadedAssetId) await call(ctx, "deleteAsset", { label: "another workspace's upload (404)", key: other, pathParams: { id: ids.uploadedAssetId }, expect: [404] });
  if (ids.cardId) {
    await call(ctx, "getCard", { label: "another workspace's card (404)", key: other, pathParams: { id: ids.cardId }, expect: [404] });
    await call(ctx, "deleteCard", { label: "another workspace's card (404)", key: other, pathParams: { id: ids.cardId }, expect: [404, 403] });
  }
  if (ids.keyId) await call(ctx, "rotateApiKey", { label: "another workspace's key (404)", key: other, pathParams: { id: ids.keyId }, expect: [404, 403] });
}
