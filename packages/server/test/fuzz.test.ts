/**
 * Property-based fuzz of the whole HTTP surface, generated from the spec's own schemas:
 * for every operation, valid requests and mutated ones (wrong types, missing required
 * fields, out-of-range numbers, long strings, NUL and unpaired surrogates, deep nesting,
 * extra properties, bad path ids, malformed JSON, wrong content types and encodings,
 * bad or absent credentials), sent concurrently with keys of every scope, from a
 * workspace with an empty wallet and from a funded one.
 *
 * Properties (ARCHITECTURE.md, Errors and inputs): no 5xx except a 503 the operation
 * documents; every non-2xx (redirects the operation documents aside) is the Error shape
 * with a snake_case code; every response has `x-request-id`; no request hangs.
 *
 * Cost: valid cost-bearing requests come from the empty wallet (402 before any work);
 * the funded key only renders small `local/image` pictures, at most FUNDED_RENDERS of them.
 * FUZZ_SEED varies the run (default fixed, so CI is reproducible); FUZZ_REQUESTS its size;
 * FUZZ_COLLECT=1 lists every failure instead of stopping at the first; FUZZ_VERBOSE=1 counts by operation.
 * Every URL generated points at a closed loopback port or is a `data:` URI: nothing leaves the machine.
 */
import { gzipSync, deflateSync, brotliCompressSync } from "node:zlib";
import { createServer } from "node:net";
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runAdminCommand } from "@aeriox/core/admin";
import { loadStripe } from "@aeriox/core/wallet";
import { deref as derefIn, normalize as normalizeIn, textArb, valueArb, type Schema, type ValueOptions } from "@aeriox/contract-tests";
import { loadSpec, type SpecOperation } from "../src/spec.ts";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob } from "./polling.ts";

// The SDK is imported on first use in core (wallet/stripe/client.ts); signing test payloads needs it now.
const Stripe = await loadStripe();

const SEED = Number(process.env.FUZZ_SEED ?? 424242);
const TARGET_REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 5200);
const BATCH = 16;
const REQUEST_TIMEOUT_MS = 15_000;
const FUNDED_RENDERS = 20;
const BODY_LIMIT_BYTES = 64 * 1024;
const WEBHOOK_SECRET = "whsec_aeriox_fuzz_secret_0123456789";

/** Operations that reserve money: only the empty wallet sends them, except the bounded cheap renders. */
const COST_BEARING = new Set(["generateImage", "generateVideo", "generateAudio", "composeVideo", "createGeneration", "createCharacter", "applyPrism"]);
/** 503 codes an operation may legitimately answer (when the spec documents 503 for it). */
const DOCUMENTED_503_CODES = new Set(["provider_not_configured", "circuit_open", "queue_unavailable", "pricing_unavailable", "search_unavailable", "not_ready"]);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type KeyKind = "read" | "generate" | "admin" | "broke" | "funded";

type Credential =
  | { kind: "key"; key: KeyKind; header: "bearer" | "x-api-key" }
  | { kind: "none" }
  | { kind: "raw"; headers: Record<string, string> };

interface FuzzRequest {
  operationId: string;
  /** Which generator made it, for the report. */
  label: string;
  method: string;
  /** Already percent-encoded. */
  path: string;
  query: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  credential: Credential;
  /** A request that may do paid work: sent with the funded key only as a bounded cheap render. */
  costBearing: boolean;
}

const spec = loadSpec();
const document = spec.document as Schema;

// ── fixtures filled in by beforeAll; generators read them lazily ──
const fixtures = {
  keys: {} as Record<KeyKind, string>,
  fundedWorkspaceId: "",
  ids: [] as string[],
  closedPort: 9,
};

const deref = (schema: Schema | undefined): Schema => derefIn(document, schema);
const normalize = (schema: Schema | undefined): Schema => normalizeIn(document, schema);

// ── leaf arbitraries ──

const safeUrl = fc.oneof(
  fc.constantFrom("a.png", "cat.jpg", "v/clip.mp4", "x").map((file) => `http://127.0.0.1:${fixtures.closedPort}/${file}`),
  fc.constantFrom("data:image/png;base64,iVBORw0KGgo=", "data:text/plain,hi", "data:,"),
);
const prismIds = ["cinematic-noir", "vintage-sepia", "pop-art-poster", "golden-hour", "cyberpunk-neon"];
const text = textArb;

/** Values no schema expects: wrong types, awkward numbers, text PostgreSQL cannot store, size and depth. */
const nastyValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1e308, -1e308, 1e-9, 1.0000001, 0.5, 2 ** 53, -(2 ** 53) - 2, 1e20, "", [], {}, "a\u0000b", "\u0000", "\ud800", "x\udc00y", "1e20", "NaN", "-0", "true", "null"),
  fc.integer().map((n) => n * 1000),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text(0, 20),
  fc.integer({ min: 100, max: 9000 }).map((n) => "x".repeat(n)),
  fc.tuple(fc.integer({ min: 8, max: 3000 }), fc.boolean()).map(([depth, arrays]) => nest(depth, arrays)),
  fc.array(fc.oneof(fc.integer(), text(0, 5)), { maxLength: 30 }),
  fc.dictionary(text(1, 8), fc.oneof(fc.integer(), text(0, 5), fc.constant(null)), { maxKeys: 5 }),
);

function nest(depth: number, arrays: boolean): Json {
  let value: Json = "leaf";
  for (let i = 0; i < depth; i++) value = arrays ? [value] : { n: value };
  return value;
}

/** What the schemas cannot say: values by field name that the server knows (models, sizes, prisms, card types, cursors). */
function domainString(schema: Schema, name: string): fc.Arbitrary<string> | undefined {
  if (schema.format || schema.enum) return undefined;
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? 40;
  switch (name) {
    case "model":
      return fc.constantFrom("local/image", "local/video", "local/tts", "fal-ai/flux/schnell", "fal-ai/kling-3.0", "eleven_v3_multilingual", "aeriox/compose", "nope/unknown");
    case "resolution":
    case "output_resolution":
      return fc.constantFrom("64x64", "96x128", "360p", "1x1", "99999x99999", "4k", "wide");
    case "prism_id":
      return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...prismIds) }, { weight: 1, arbitrary: text(min, Math.min(max, 20)) });
    case "card_type":
    case "node_type":
    case "type":
      return fc.oneof(fc.constantFrom("character", "location", "prop", "style", "scene"), text(min, Math.min(max, 12)));
    case "path":
      return fc.oneof(safeUrl, fc.constantFrom("owner/lora-weights", "loras/fox.safetensors"));
    case "cursor":
      return fc.oneof(text(0, 30), fc.constantFrom(Buffer.from(JSON.stringify(["2020-01-01T00:00:00.000Z", randomUUID()])).toString("base64url")));
    default:
      return undefined;
  }
}

/** The contract suite's generator (one for both), with this test's fixtures: real ids, loopback/data URLs only, wide numbers. */
const VALUE_OPTIONS: ValueOptions = { ids: () => fixtures.ids, urls: safeUrl, string: domainString, magnitude: 1_000_000, maxItems: 4 };

/** A value the schema accepts (the server may still refuse it for reasons schemas cannot state). */
const validValue = (input: Schema | undefined, name = ""): fc.Arbitrary<unknown> => valueArb(document, input, VALUE_OPTIONS, name);

// ── mutations of a valid body ──

type Path = Array<string | number>;

function pathsOf(value: unknown, prefix: Path = [], out: Path[] = []): Path[] {
  if (prefix.length > 0) out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) pathsOf(v, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: Path, replace: (old: unknown) => unknown): unknown {
  if (path.length === 0) return replace(root);
  const copy = (Array.isArray(root) ? [...root] : { ...(root as object) }) as Record<string | number, unknown>;
  const [head, ...rest] = path;
  copy[head!] = setAt(copy[head!], rest, replace);
  return copy;
}

function removeAt(root: unknown, path: Path): unknown {
  if (path.length === 1) {
    if (Array.isArray(root)) return root.filter((_, i) => i !== path[0]);
    const { [path[0] as string]: _removed, ...rest } = root as Record<string, unknown>;
    return rest;
  }
  return setAt(root, path.slice(0, 1), (child) => removeAt(child, path.slice(1)));
}

/** URL-ish fields never carry a URL with a host that is not loopback, whatever a mutation put there. */
function neverRemote(path: Path, value: unknown): unknown {
  const name = String(path[path.length - 1] ?? "");
  if (typeof value === "string" && /url|uri|path/i.test(name) && value.includes("//")) return value.replace(/\/\//g, "__");
  return value;
}

const bodyMutation = (body: unknown, schema: Schema): fc.Arbitrary<{ label: string; body: unknown }> => {
  const paths = pathsOf(body);
  // Numbers, USD amounts first: precision is where money parsing breaks.
  const usdPaths = paths.filter((p) => String(p[p.length - 1]).endsWith("_usd"));
  const numberPaths = paths.filter((p) => typeof p.reduce<unknown>((node, k) => (node as Record<string | number, unknown> | undefined)?.[k], body) === "number");
  const amountPaths = usdPaths.length ? usdPaths : numberPaths.length ? numberPaths : paths;
  const required: string[] = normalize(schema).required ?? [];
  const options: Array<fc.Arbitrary<{ label: string; body: unknown }>> = [
    nastyValue.map((v) => ({ label: "body:wrong-type-root", body: v })),
    fc.tuple(text(1, 12), nastyValue).map(([k, v]) => ({ label: "body:extra-property", body: body && typeof body === "object" && !Array.isArray(body) ? { ...body, [k]: v } : { [k]: v } })),
  ];
  if (paths.length > 0) {
    options.push(
      fc.tuple(fc.constantFrom(...paths), nastyValue).map(([p, v]) => ({ label: "body:field-value", body: setAt(body, p, () => neverRemote(p, v)) })),
      fc.constantFrom(...paths).map((p) => ({ label: "body:field-removed", body: removeAt(body, p) })),
      fc.tuple(fc.constantFrom(...paths), fc.constantFrom("\u0000", "\ud800", "\udfff", "a\u0000", "\ud83d")).map(([p, bad]) => ({
        label: "body:bad-text",
        body: setAt(body, p, (old) => (typeof old === "string" ? `${old}${bad}` : bad)),
      })),
      fc.tuple(fc.constantFrom(...paths), fc.integer({ min: 30, max: 3000 })).map(([p, d]) => ({ label: "body:deep", body: setAt(body, p, () => nest(d, d % 2 === 0)) })),
      fc.tuple(fc.constantFrom(...amountPaths), fc.constantFrom(1e-9, 1.0000001, 0.1234567, 5.001, 10.0000001, -1, 1e15, 123456.0000001, 2 ** 53 + 1)).map(([p, n]) => ({ label: "body:amount", body: setAt(body, p, () => n) })),
    );
  }
  if (required.length > 0 && body && typeof body === "object") {
    options.push(fc.constantFrom(...required).map((r) => ({ label: "body:missing-required", body: removeAt(body, [r]) })));
  }
  return fc.oneof(...options);
};

// ── whole requests ──

const garbageCredential: fc.Arbitrary<Credential> = fc
  .oneof(
    fc.stringMatching(/^[A-Za-z0-9_]{0,60}$/).map((s) => ({ authorization: `Bearer sk_live_${s}` })),
    fc.constantFrom<Record<string, string>>(
      { authorization: "Bearer" },
      { authorization: "Bearer " },
      { authorization: "Basic dXNlcjpwYXNz" },
      { authorization: "bearer sk_live_" },
      { authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl" },
      { authorization: "Bearer a.b.c" },
      { "x-api-key": "" },
      { "x-api-key": "sk_live_" + "a".repeat(300) },
      { authorization: "Bearer sk_live_x", "x-api-key": "sk_live_y" },
    ),
    fc.stringMatching(/^[ -~]{0,80}$/).map((s) => ({ authorization: s })),
  )
  .map((headers) => ({ kind: "raw" as const, headers }));

const keyCredential = (keys: KeyKind[]): fc.Arbitrary<Credential> =>
  fc.record({ kind: fc.constant("key" as const), key: fc.constantFrom(...keys), header: fc.constantFrom("bearer" as const, "bearer" as const, "x-api-key" as const) });

/** Mostly a key that may call the operation (so requests reach the handlers), else one that may not, none, or garbage. */
function credentialFor(op: SpecOperation): fc.Arbitrary<Credential> {
  const allowed: KeyKind[] = op.scope ? ["broke", "broke", op.scope, "funded"] : ["broke"];
  const others = (["read", "generate", "admin"] as KeyKind[]).filter((k) => k !== op.scope);
  return fc.oneof(
    { weight: op.authenticated ? 12 : 2, arbitrary: keyCredential(allowed) },
    { weight: 2, arbitrary: keyCredential(others) },
    { weight: op.authenticated ? 1 : 6, arbitrary: fc.constant({ kind: "none" as const }) },
    { weight: 2, arbitrary: garbageCredential },
  );
}

function jsonBodySchema(op: SpecOperation): { contentType: string; schema: Schema } | null {
  const content = (document.paths[op.path][op.method].requestBody?.content ?? {}) as Record<string, { schema: Schema }>;
  const [contentType] = Object.keys(content);
  return contentType ? { contentType, schema: content[contentType]!.schema } : null;
}

function parametersOf(op: SpecOperation): Schema[] {
  const item = document.paths[op.path];
  return [...(item.parameters ?? []), ...(item[op.method].parameters ?? [])].map((p: Schema) => deref(p));
}

function encodeBody(contentType: string, body: unknown): string {
  if (contentType === "application/x-www-form-urlencoded") {
    const form = new URLSearchParams();
    if (body && typeof body === "object" && !Array.isArray(body)) {
      for (const [k, v] of Object.entries(body)) form.append(k, typeof v === "string" ? v : JSON.stringify(v));
    }
    return form.toString();
  }
  return JSON.stringify(body) ?? "null";
}

function queryString(values: Record<string, unknown>): string {
  const entries = Object.entries(values).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return "";
  return "?" + entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&");
}

const badPathSegment = fc.oneof(
  fc.constantFrom("%00", "%ED%A0%80", "%", "%E0%A4%A", "..", "%2F", "not-a-uuid", "00000000-0000-0000-0000-000000000000", "x".repeat(3000), "%20", "ffffffff-ffff-ffff-ffff-ffffffffffff"),
  text(1, 20).map((s) => encodeURIComponent(s)),
);

const badQueryValue = fc.oneof(
  fc.constantFrom("", "1e20", "-1", "0", "1.5", "abc", "%00", "%ED%A0%80", "%", "NaN", "Infinity", "1000001", "99999999999999999999"),
  fc.integer({ min: 600, max: 3000 }).map((n) => "q".repeat(n)),
);

/** Query values as a client sends them: not empty, and strings without reserved characters unless the spec allows them. */
function queryValue(schema: Schema, name: string): fc.Arbitrary<unknown> {
  const resolved = deref(schema);
  if (resolved.type === "string" && !resolved.enum && !resolved.format) {
    if (name === "cursor") return validValue(resolved, name);
    return fc.stringMatching(/^[A-Za-z0-9_.~-]{1,24}$/);
  }
  return validValue(resolved, name);
}

const MODELS: Record<string, string[]> = {
  generateImage: ["local/image", "local/image", "fal-ai/flux/schnell", "nope/unknown"],
  generateVideo: ["local/video", "local/video", "fal-ai/kling-3.0", "nope/unknown"],
  generateAudio: ["local/tts", "local/tts", "eleven_v3_multilingual", "nope/unknown"],
};

/** What schemas cannot say: the server's cross-field rules, so "valid" requests mostly reach the handlers. */
function plausible(operationId: string, body: unknown): fc.Arbitrary<unknown> {
  if (!body || typeof body !== "object" || Array.isArray(body)) return fc.constant(body);
  const b = { ...(body as Schema) };
  if (operationId === "createCard" || operationId === "createNode") {
    if (b.card_type !== undefined && b.node_type !== undefined) delete b.node_type;
    if (Array.isArray(b.visibility_scopes)) b.visibility_scopes = b.visibility_scopes.filter((v: string) => v.length > 0);
    if (Array.isArray(b.edges)) b.edges = b.edges.map((e: Record<string, unknown>) => (e.to_card_id !== undefined ? { ...e, to_node_id: undefined } : e)).filter((e: Record<string, unknown>) => typeof e.edge_type === "string" && e.edge_type.length > 0);
  }
  const models = MODELS[operationId];
  if (models && "model" in b) return fc.constantFrom(...models).map((model) => ({ ...b, model }));
  return fc.constant(JSON.parse(JSON.stringify(b)) as unknown);
}

function requestArb(op: SpecOperation): fc.Arbitrary<FuzzRequest> {
  const params = parametersOf(op);
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const headerParams = params.filter((p) => p.in === "header" && p.name.toLowerCase() !== "stripe-signature");
  const bodyInfo = jsonBodySchema(op);

  const pathModel: Record<string, fc.Arbitrary<unknown>> = Object.fromEntries(
    pathParams.map((p) => [p.name, op.operationId === "applyPrism" ? fc.oneof(fc.constantFrom(...prismIds), text(1, 20)) : validValue(p.schema, p.name)]),
  );
  const pathValues: fc.Arbitrary<Record<string, unknown>> = fc.record(pathModel);
  const queryModel: Record<string, fc.Arbitrary<unknown>> = Object.fromEntries(queryParams.map((p) => [p.name, queryValue(p.schema, p.name)]));
  const queryValues: fc.Arbitrary<Record<string, unknown>> = fc.record(queryModel, { requiredKeys: queryParams.filter((p) => p.required).map((p) => p.name as string) });
  const idempotency = headerParams.length ? fc.option(fc.oneof(fc.constantFrom("fuzz-idem-1", "fuzz-idem-2"), fc.uuid()), { nil: undefined, freq: 3 }) : fc.constant(undefined);
  const body = bodyInfo ? validValue(bodyInfo.schema).chain((b) => plausible(op.operationId, b)) : fc.constant(undefined);

  const base = fc.record({ pathValues, queryValues, body, credential: credentialFor(op), idempotency });

  return base.chain(({ pathValues: pv, queryValues: qv, body: validBody, credential, idempotency: idem }) => {
    const build = (label: string, over: { path?: string; query?: string; body?: unknown; rawBody?: string | Uint8Array; headers?: Record<string, string>; method?: string }): FuzzRequest => {
      const path = over.path ?? op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(String(pv[name])));
      const headers: Record<string, string> = { ...(idem ? { "idempotency-key": idem } : {}) };
      let rawBody = over.rawBody;
      if (rawBody === undefined && bodyInfo && (over.body !== undefined || validBody !== undefined)) {
        headers["content-type"] = bodyInfo.contentType;
        rawBody = encodeBody(bodyInfo.contentType, over.body !== undefined ? over.body : validBody);
      }
      return {
        operationId: op.operationId,
        label,
        method: (over.method ?? op.method).toUpperCase(),
        path,
        query: over.query ?? queryString(qv),
        headers: { ...headers, ...over.headers },
        ...(rawBody !== undefined ? { body: rawBody } : {}),
        credential,
        costBearing: COST_BEARING.has(op.operationId),
      };
    };

    const variants: Array<{ weight: number; arbitrary: fc.Arbitrary<FuzzRequest> }> = [{ weight: 8, arbitrary: fc.constant(build("valid", {})) }];
    if (bodyInfo) {
      variants.push({ weight: 8, arbitrary: bodyMutation(validBody, bodyInfo.schema).map((m) => build(m.label, { body: m.body === undefined ? null : m.body })) });
      const encoded = encodeBody(bodyInfo.contentType, validBody);
      variants.push({
        weight: 5,
        arbitrary: fc.oneof(
          fc.nat(Math.max(0, encoded.length - 1)).map((cut) => build("raw:truncated-json", { rawBody: encoded.slice(0, cut), headers: { "content-type": "application/json" } })),
          fc.constantFrom("{", "}", "[", "nul", "{'a':1}", '{"a":}', "\u0000", '{"a":1,}', "[".repeat(30_000), '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}').map((raw) =>
            build("raw:malformed-json", { rawBody: raw, headers: { "content-type": "application/json" } }),
          ),
          fc.uint8Array({ maxLength: 200 }).map((bytes) => build("raw:random-bytes", { rawBody: bytes, headers: { "content-type": "application/json" } })),
          fc.constantFrom("text/plain", "application/xml", "multipart/form-data; boundary=x", "application/json; charset=utf-7", "application/json; charset=latin1", "application/json; charset=utf-16le", "application/x-www-form-urlencoded", "application/problem+json", "", "*/*").map((type) =>
            build("raw:content-type", { rawBody: encoded, headers: type ? { "content-type": type } : {} }),
          ),
          fc.constantFrom("gzip", "deflate", "br", "zstd", "compress", "gzip, gzip", "identity", "GZIP", "x-gzip").chain((encoding) =>
            fc.boolean().map((reallyEncoded) => {
              const bytes = Buffer.from(encoded);
              const packed = !reallyEncoded ? bytes : encoding.toLowerCase() === "gzip" ? gzipSync(bytes) : encoding === "deflate" ? deflateSync(bytes) : encoding === "br" ? brotliCompressSync(bytes) : bytes;
              return build(`raw:content-encoding-${reallyEncoded ? "real" : "fake"}`, { rawBody: new Uint8Array(packed), headers: { "content-type": bodyInfo.contentType, "content-encoding": encoding } });
            }),
          ),
          // A small gzip body that inflates past the limit.
          fc.constant(build("raw:gzip-bomb", { rawBody: new Uint8Array(gzipSync(Buffer.from(`{"prompt":"${"a".repeat(BODY_LIMIT_BYTES * 4)}"}`))), headers: { "content-type": "application/json", "content-encoding": "gzip" } })),
          fc.constant(build("raw:oversized", { rawBody: `{"prompt":"${"a".repeat(BODY_LIMIT_BYTES + 10)}"}`, headers: { "content-type": "application/json" } })),
          fc.constant(build("raw:no-body", { rawBody: "", headers: {} })),
        ),
      });
    }
    if (pathParams.length > 0) {
      variants.push({
        weight: 3,
        arbitrary: badPathSegment.map((segment) => build("path:bad-id", { path: op.path.replace(/\{[^}]+\}/g, segment) })),
      });
    }
    variants.push({
      weight: 2,
      arbitrary: fc.oneof(
        fc.tuple(text(1, 10), badQueryValue).map(([k, v]) => build("query:unknown-param", { query: `${queryString(qv) || "?"}&${encodeURIComponent(k)}=${v}` })),
        ...(queryParams.length
          ? [
              fc.tuple(fc.constantFrom(...queryParams.map((p) => p.name as string)), badQueryValue).map(([k, v]) => build("query:bad-value", { query: `?${k}=${v}` })),
              fc.constantFrom(...queryParams.map((p) => p.name as string)).chain((k) =>
                fc.constantFrom(`?${k}[]=1&${k}[]=2`, `?${k}[a]=b`, `?${k}=1&${k}=2`, `?${k}[a][b][c][d][e][f][g]=1`, `?${k}`).map((q) => build("query:structured", { query: q })),
              ),
            ]
          : []),
      ),
    });
    if (headerParams.length) {
      variants.push({ weight: 1, arbitrary: fc.constantFrom("k".repeat(256), "", " ", "ключ").map((key) => build("header:bad-idempotency-key", { headers: { "idempotency-key": encodeURIComponent(key) === key || key === "" || key === " " ? key : encodeURIComponent(key) } })) });
    }
    variants.push({ weight: 1, arbitrary: fc.constantFrom("PUT", "PATCH", op.method === "get" ? "DELETE" : "GET").map((m) => build("method:not-allowed", { method: m, rawBody: undefined })) });
    return fc.oneof(...variants);
  });
}

const stripeEventArb: fc.Arbitrary<FuzzRequest> = fc
  .record({
    type: fc.constantFrom("payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded", "customer.created", ""),
    amount: fc.oneof(
      fc.integer({ min: -1000, max: 100_000 }),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom<unknown>(1050.5, 0.1, 1e20, 2 ** 53 + 2, 9_000_000_000_000, -0.5, "100", null, true, [], {}),
    ),
    workspace: fc.oneof(fc.constant(null).map(() => fixtures.fundedWorkspaceId), fc.uuid(), text(0, 40)),
    purpose: fc.constantFrom("topup", "auto_recharge", undefined),
    eventId: fc.oneof(fc.uuid().map((u) => `evt_${u}`), text(0, 30), fc.constantFrom<unknown>(42, null, { id: 1 })),
    intentId: fc.oneof(fc.uuid().map((u) => `pi_${u}`), fc.constantFrom<unknown>(7, null, ["pi"], "")),
    signing: fc.constantFrom("valid", "valid", "valid", "wrong-secret", "garbage", "absent"),
    extra: fc.option(nastyValue, { nil: undefined }),
  })
  .map(({ type, amount, workspace, purpose, eventId, intentId, signing, extra }) => {
    const event = {
      id: eventId,
      object: "event",
      type,
      created: 1_700_000_000,
      data: { object: { id: intentId, object: "payment_intent", amount, amount_received: amount, currency: "usd", metadata: { workspace_id: workspace, ...(purpose ? { purpose } : {}) }, ...(extra !== undefined ? { extra } : {}) } },
    };
    const payload = JSON.stringify(event);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (signing === "valid") headers["stripe-signature"] = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    if (signing === "wrong-secret") headers["stripe-signature"] = Stripe.webhooks.generateTestHeaderString({ payload, secret: "whsec_wrong" });
    if (signing === "garbage") headers["stripe-signature"] = "t=1,v1=deadbeef";
    return { operationId: "handleStripeWebhook", label: `webhook:${signing}`, method: "POST", path: "/v1/webhooks/stripe", query: "", headers, body: payload, credential: { kind: "none" }, costBearing: false } satisfies FuzzRequest;
  });

const unknownRouteArb: fc.Arbitrary<FuzzRequest> = fc
  .tuple(fc.constantFrom("GET", "POST", "DELETE", "PUT"), fc.constantFrom("/v1/nope", "/v1", "/", "/v2/cards", "/v1/cards/x/y/z", "/v1/jobs/", "/%00", "/v1/%ED%A0%80", "/v1/cards//render", "/openapi.json/x"), fc.oneof(keyCredential(["broke"]), garbageCredential))
  .map(([method, path, credential]) => ({ operationId: "(no route)", label: "route:unknown", method, path, query: "", headers: {}, credential, costBearing: false }));

/**
 * A valid cost-bearing request from the empty wallet, which must be refused for money (402)
 * before any work. Generated requests reach that path only by chance (3 of 5200 at this seed
 * with 60 operations, none once the spec had 62), so the run sends some on purpose.
 */
const brokeRenderArb: fc.Arbitrary<FuzzRequest> = fc.constantFrom<"bearer" | "x-api-key">("bearer", "x-api-key").map((header) => ({
  operationId: "generateImage",
  label: "broke:valid-render",
  method: "POST",
  path: "/v1/images/generate",
  query: "",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ model: "local/image", prompt: "fuzz", resolution: "64x64" }),
  credential: { kind: "key", key: "broke", header },
  costBearing: true,
}));

const anyRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  { weight: 40, arbitrary: fc.constantFrom(...spec.operations).chain((op) => requestArb(op)) },
  { weight: 2, arbitrary: stripeEventArb },
  { weight: 1, arbitrary: unknownRouteArb },
  { weight: 1, arbitrary: brokeRenderArb },
);

/** The bounded paid work of the funded key: one small local picture. */
function cheapRender(original: FuzzRequest): FuzzRequest {
  return {
    ...original,
    operationId: "generateImage",
    label: "funded:cheap-render",
    method: "POST",
    path: "/v1/images/generate",
    query: "",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "local/image", prompt: "fuzz", resolution: "64x64" }),
  };
}

// ── sending and checking ──

let srv: TestServer;
const statusCounts = new Map<number, number>();
const labelCounts = new Map<string, number>();
const codes503 = new Map<string, number>();
let fundedRenders = 0;
let sent = 0;
const VERBOSE = process.env.FUZZ_VERBOSE === "1";
/** FUZZ_COLLECT=1: keep going after a failing batch and list every failure at the end (to see all classes at once). */
const COLLECT = process.env.FUZZ_COLLECT === "1";
const collected: string[] = [];
const verboseCounts = new Map<string, number>();

function credentialHeaders(credential: Credential): Record<string, string> {
  if (credential.kind === "none") return {};
  if (credential.kind === "raw") return credential.headers;
  const key = fixtures.keys[credential.key];
  return credential.header === "bearer" ? { authorization: `Bearer ${key}` } : { "x-api-key": key };
}

/** Only the cheap render may spend the funded wallet; past the budget it comes from the empty one. */
function boundedCost(request: FuzzRequest): FuzzRequest {
  if (!request.costBearing || request.credential.kind !== "key" || request.credential.key !== "funded") return request;
  if (fundedRenders < FUNDED_RENDERS) {
    fundedRenders += 1;
    return cheapRender(request);
  }
  return { ...request, credential: { ...request.credential, key: "broke" } };
}

function documentedStatuses(operationId: string): Set<string> {
  const op = spec.operations.find((o) => o.operationId === operationId);
  return new Set(op ? Object.keys(document.paths[op.path][op.method].responses ?? {}) : []);
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "" : typeof r.body === "string" ? r.body : `<${r.body.length} bytes>`;
  return `${r.method} ${r.path.slice(0, 200)}${r.query.slice(0, 200)} [${r.operationId} ${r.label}] headers=${JSON.stringify(r.headers)} cred=${JSON.stringify(r.credential)} body=${body.slice(0, 400)}`;
}

async function sendAndCheck(original: FuzzRequest): Promise<string | null> {
  const request = boundedCost(original);
  sent += 1;
  labelCounts.set(request.label, (labelCounts.get(request.label) ?? 0) + 1);
  const signal = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
  const startedAt = Date.now();
  let res: Response;
  let text = "";
  try {
    res = await fetch(srv.url + request.path + request.query, {
      method: request.method,
      headers: { ...request.headers, ...credentialHeaders(request.credential) },
      ...(request.body !== undefined && request.method !== "GET" && request.method !== "HEAD" ? { body: request.body as BodyInit } : {}),
      redirect: "manual",
      signal,
    });
    if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) await res.body?.cancel();
    else text = await res.text();
  } catch (err) {
    const reason = (err as Error).name === "TimeoutError" ? `no response within ${REQUEST_TIMEOUT_MS} ms` : `transport error ${(err as Error).message}`;
    return `${describeRequest(request)}\n  → ${reason}`;
  }
  statusCounts.set(res.status, (statusCounts.get(res.status) ?? 0) + 1);
  if (VERBOSE) {
    const k = `${request.operationId} ${request.label} ${res.status} ${/"code":"([a-z_]+)"/.exec(text)?.[1] ?? ""}`;
    verboseCounts.set(k, (verboseCounts.get(k) ?? 0) + 1);
    const ms = Date.now() - startedAt;
    if (request.label === "valid" && /invalid_request/.test(text)) console.log(`valid-but-refused: ${request.operationId} ${text.slice(0, 300)}`);
    if (ms > 500) console.log(`slow ${ms} ms: ${describeRequest(request).slice(0, 300)} → ${res.status}`);
  }
  const problems: string[] = [];
  const requestId = res.headers.get("x-request-id");
  if (!requestId) problems.push("no x-request-id header");
  const documented = documentedStatuses(request.operationId);
  if (res.status >= 300 && res.status < 400 && !documented.has(String(res.status))) problems.push(`undocumented redirect ${res.status}`);
  if (res.status >= 400) {
    let body: Schema | undefined;
    try {
      body = JSON.parse(text);
    } catch {
      problems.push("error body is not JSON");
    }
    const error = body?.error;
    const shaped = body && Object.keys(body).length === 1 && error && typeof error.code === "string" && /^[a-z][a-z0-9_]*$/.test(error.code) && typeof error.message === "string" && (error.details === undefined || (typeof error.details === "object" && error.details !== null));
    if (!shaped) problems.push("error body is not the Error shape");
    if (res.status >= 500) {
      const allowed = res.status === 503 && documented.has("503") && DOCUMENTED_503_CODES.has(error?.code);
      if (allowed) codes503.set(error.code, (codes503.get(error.code) ?? 0) + 1);
      else problems.push(`server error ${res.status}`);
    }
  }
  if (problems.length === 0) return null;
  const serverLines = requestId ? srv.logs.filter((line) => line.includes(requestId) && /"level":(50|60)/.test(line)).map((l) => l.slice(0, 1500)) : [];
  return `${describeRequest(request)}\n  → ${res.status} ${text.slice(0, 400)}\n  problems: ${problems.join("; ")}${serverLines.length ? `\n  server: ${serverLines.join("\n  server: ")}` : ""}`;
}

async function closedLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(async () => {
  fixtures.closedPort = await closedLoopbackPort();
  srv = await startTestServer({
    env: {
      TRIAL_CREDIT_USD: "0",
      BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      RATE_LIMIT_PER_MINUTE: "1000000",
      IP_RATE_LIMIT_PER_MINUTE: "1000000",
      OAUTH_IP_RATE_LIMIT_PER_MINUTE: "1000000",
    },
  });
  const broke = `fuzz-broke-${randomUUID()}`;
  const funded = `fuzz-funded-${randomUUID()}`;
  const make = async (workspace: string, scopes: string[]) => (await srv.createKey({ workspace, scopes })).key;
  fixtures.keys = {
    read: await make(broke, ["read"]),
    generate: await make(broke, ["generate"]),
    admin: await make(broke, ["admin"]),
    broke: await make(broke, ["read", "generate", "admin"]),
    funded: await make(funded, ["read", "generate", "admin"]),
  };
  const fundedKey = await srv.createKey({ workspace: funded, scopes: ["read"] });
  fixtures.fundedWorkspaceId = fundedKey.workspace_id;
  await runAdminCommand(srv.runtime, "wallet.credit", { workspace: funded, usd: 1 });

  // Real ids for path parameters: a card, and a finished job with its asset.
  const card = await srv.request("/v1/cards", { method: "POST", key: fixtures.keys.broke, json: { card_type: "character", name: "Fuzzy" } });
  expect(card.status).toBe(201);
  const job = await srv.request("/v1/images/generate", { method: "POST", key: fixtures.keys.funded, json: { model: "local/image", prompt: "fixture", resolution: "64x64" } });
  expect(job.status).toBe(202);
  const jobId = ((await job.json()) as { job_id: string }).job_id;
  const done = await waitForJob(srv, fixtures.keys.funded, jobId);
  fixtures.ids = [((await card.json()) as { card: { id: string } }).card.id, jobId, ...(done.asset_ids ?? [])];
  if (VERBOSE) console.log(`fixture ids ${JSON.stringify(fixtures.ids)} job ${JSON.stringify(done)}`);
}, 120_000);

afterAll(async () => {
  await srv?.close();
});

describe("fuzz: no client mistake answers 5xx", () => {
  it(`${TARGET_REQUESTS} generated requests: documented statuses only, Error shape, x-request-id, no hangs (seed ${SEED})`, async () => {
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(anyRequest, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const failures = (await Promise.all(batch.map((r) => sendAndCheck(r)))).filter((f): f is string => f !== null);
        if (COLLECT) collected.push(...failures);
        else if (failures.length > 0) throw new Error(failures.join("\n\n"));
      }),
      { seed: SEED, numRuns: Math.ceil(TARGET_REQUESTS / BATCH), endOnFailure: true },
    );
    const byStatus = Object.fromEntries([...statusCounts.entries()].sort(([a], [b]) => a - b));
    console.log(
      `fuzz (${srv.config.databaseKind}/${srv.config.queueKind}, seed ${SEED}): ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)} s; by status ${JSON.stringify(byStatus)}; documented 503 codes ${JSON.stringify(Object.fromEntries(codes503))}; funded renders ${fundedRenders}`,
    );
    console.log(`fuzz request kinds: ${JSON.stringify(Object.fromEntries([...labelCounts.entries()].sort()))}`);
    expect(collected).toEqual([]);
    if (VERBOSE) console.log([...verboseCounts.entries()].sort().map(([k, n]) => `${k}: ${n}`).join("\n"));
    expect(sent).toBeGreaterThanOrEqual(TARGET_REQUESTS);
    // The run reached past validation: some requests succeeded and some were refused for money.
    expect([...statusCounts.keys()].some((s) => s >= 200 && s < 300)).toBe(true);
    expect(statusCounts.get(402) ?? 0).toBeGreaterThan(0);
  }, 600_000);
});
