/**
 * Negative requests derived from the schemas, for every operation in scope: no or invalid
 * credentials, bad path ids, missing required fields, wrong types, enum/range/length/format
 * violations, malformed JSON, a wrong content type, out-of-bounds query values. Each must get a
 * documented 4xx (401 for credentials, 415 for the content type); nothing is spent, since every
 * request is refused before any work (a cost-bearing operation's base body uses `local/echo`).
 */
import type { Budget } from "./budget.ts";
import type { Client } from "./client.ts";
import type { FlowContext } from "./flows.ts";
import type { Operation } from "./spec.ts";
import { mutations, normalize, sample, violationsOf } from "./values.ts";

const COST_BEARING = /^(generate|compose|create(Generation|Character)|applyPrism)/;

/** A valid body for the operation: schema sample plus what schemas cannot say (cheap model, real ids). */
export function baseBody(client: Client, op: Operation, ctx: Pick<FlowContext, "ids">): { contentType: string; body: Record<string, unknown> } | null {
  const media = op.requestBody?.content[0];
  if (!media || !media.schema) return null;
  const body = sample(client.spec.document, media.schema) as Record<string, unknown>;
  if (!body || typeof body !== "object" || Array.isArray(body)) return null;
  const props = normalize(client.spec.document, media.schema).properties ?? {};
  if ("model" in props) body.model = op.operationId === "generateAudio" ? "local/tts" : "local/echo";
  if ("prompt" in props && body.prompt === undefined) body.prompt = "a contract test";
  if (op.operationId === "composeVideo" && ctx.ids.assetId) body.segments = [{ asset_id: ctx.ids.assetId, start_time: 0, duration: 1 }];
  if (op.operationId === "applyPrism" && ctx.ids.assetId) body.asset_id = ctx.ids.assetId;
  if (op.operationId === "createCard" || op.operationId === "createNode") body[op.operationId === "createCard" ? "card_type" : "node_type"] = "character";
  return { contentType: media.contentType, body };
}

function encode(contentType: string, body: unknown): string {
  if (contentType === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) form.append(k, typeof v === "string" ? v : JSON.stringify(v));
    return form.toString();
  }
  return JSON.stringify(body);
}

function pathParamsFor(op: Operation, ctx: Pick<FlowContext, "ids">): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of op.parameters.filter((x) => x.in === "path")) out[p.name] = op.operationId === "applyPrism" ? (ctx.ids.prismId ?? "cinematic-noir") : crypto.randomUUID();
  return out;
}

export async function runNegative(ctx: FlowContext, budget: Budget): Promise<void> {
  const { client } = ctx;
  for (const op of client.spec.operations) {
    if (!ctx.included(op.operationId)) continue;
    const kind = "negative" as const;
    const pathParams = pathParamsFor(op, ctx);
    const base = baseBody(client, op, ctx);
    const validBody = base ? { body: encode(base.contentType, base.body), contentType: base.contentType } : {};
    const guard = (what: string) => !COST_BEARING.test(op.operationId) || budget.allow(0.0001, `${op.operationId} negative ${what}`);

    if (op.authenticated) {
      await client.call(op.operationId, { kind, label: "no credentials (401)", key: null, pathParams, ...validBody, expect: [401] });
      await client.call(op.operationId, { kind, label: "invalid key (401)", key: "sk_live_contract_test_invalid_key_0000000000", pathParams, ...validBody, expect: [401] });
      await client.call(op.operationId, { kind, label: "malformed Authorization (401)", headers: { authorization: "Basic Y3Q6Y3Q=" }, pathParams, ...validBody, expect: [401] });
    }
    for (const p of op.parameters.filter((x) => x.in === "path" && x.schema.format === "uuid")) {
      await client.call(op.operationId, { kind, label: `path ${p.name} not a uuid (400)`, pathParams: { ...pathParams, [p.name]: "not-a-uuid" }, query: requiredQuery(op), ...validBody, expect: [400] });
    }
    for (const p of op.parameters.filter((x) => x.in === "query")) {
      for (const bad of violationsOf(p.schema)) {
        if (typeof bad.value === "object" && bad.value !== null) continue;
        if (bad.label.startsWith("wrong type") && p.schema.type === "string") continue;
        await client.call(op.operationId, { kind, label: `query ${p.name}: ${bad.label} (400)`, pathParams, query: { ...requiredQueryObject(op), [p.name]: String(bad.value) }, ...validBody, expect: ["4xx"] });
      }
    }
    if (op.requestBody && base) {
      const media = op.requestBody.content[0]!;
      const json = media.contentType === "application/json";
      for (const m of mutations(client.spec.document, media.schema!, base.body, !json)) {
        if (!guard(m.label)) break;
        await client.call(op.operationId, { kind, label: `body ${m.label} (4xx)`, pathParams, body: encode(media.contentType, m.body), contentType: media.contentType, expect: ["4xx"] });
      }
      if (json) {
        await client.call(op.operationId, { kind, label: "malformed JSON (400)", pathParams, body: '{"model": ', contentType: "application/json", expect: [400] });
        await client.call(op.operationId, { kind, label: "a JSON array instead of an object (400)", pathParams, body: "[]", contentType: "application/json", expect: [400] });
      }
      await client.call(op.operationId, { kind, label: "wrong content type (415)", pathParams, body: encode(media.contentType, base.body), contentType: "text/plain", expect: [415] });
      if (op.requestBody.required) await client.call(op.operationId, { kind, label: "no body (4xx)", pathParams, expect: ["4xx"] });
    }
  }
}

function requiredQueryObject(op: Operation): Record<string, string> {
  return Object.fromEntries(op.parameters.filter((p) => p.in === "query" && p.required).map((p) => [p.name, String(sample({}, p.schema, p.name))]));
}

function requiredQuery(op: Operation): Record<string, string> | undefined {
  const q = requiredQueryObject(op);
  return Object.keys(q).length ? q : undefined;
}
