/**
 * Contract tests derived from the spec, runnable against any deployment:
 *   CONTRACT_BASE_URL=https://api.example.com CONTRACT_API_KEY=sk_live_… pnpm --filter @aeriox/server exec vitest run test/contract.test.ts
 * (an admin-scoped key; nothing here spends money: every cost-bearing call is sent
 * with a body the contract rejects). Without those variables it starts a server.
 * Every answer must be a status the operation documents (or 501 while an operation
 * has no handler in the router), with a body valid against its schema, and
 * never a 5xx for bad input.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { loadSpec, type SpecOperation } from "../src/spec.ts";
import { unimplementedOperations } from "../src/http/router.ts";
import { handlers } from "../src/handlers/index.ts";
import { startTestServer, type TestServer } from "./harness.ts";

type Schema = Record<string, unknown>;
const doc = loadSpec().document as { paths: Record<string, Record<string, Schema>>; components: Record<string, Record<string, Schema>> };
const operations = loadSpec().operations;

/** Inlines local `$ref`s (the spec has no cycles). */
function deref<T>(node: T): T {
  if (Array.isArray(node)) return node.map(deref) as T;
  if (node && typeof node === "object") {
    const ref = (node as { $ref?: string }).$ref;
    if (ref?.startsWith("#/")) {
      const target = ref.slice(2).split("/").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], doc);
      return deref(target as T);
    }
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(v)])) as T;
  }
  return node;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validators = new Map<string, ValidateFunction>();

function operationObject(op: SpecOperation): Schema {
  return deref(doc.paths[op.path]![op.method]!) as Schema;
}

function responseValidator(op: SpecOperation, status: number): ValidateFunction | null {
  const id = `${op.operationId}:${status}`;
  if (!validators.has(id)) {
    const responses = operationObject(op).responses as Record<string, { content?: Record<string, { schema?: Schema }> }>;
    const schema = responses[String(status)]?.content?.["application/json"]?.schema;
    if (!schema) return null;
    validators.set(id, ajv.compile(schema));
  }
  return validators.get(id)!;
}

function documentedStatuses(op: SpecOperation): number[] {
  return Object.keys(operationObject(op).responses as object).map(Number);
}

let base = process.env.CONTRACT_BASE_URL?.replace(/\/+$/, "");
let key = process.env.CONTRACT_API_KEY;
let srv: TestServer | undefined;
let unimplemented = new Set<string>();

beforeAll(async () => {
  if (!base || !key) {
    srv = await startTestServer();
    base = srv.url;
    key = (await srv.createKey()).key;
    // Operations without a handler answer 501 (none today; derived from the router, not a list).
    unimplemented = new Set(unimplementedOperations(loadSpec(), handlers));
  }
}, 60_000);
afterAll(() => srv?.close());

async function call(op: SpecOperation, init: { path?: string; body?: string; contentType?: string; auth?: boolean; query?: string } = {}) {
  const headers: Record<string, string> = {};
  if (init.auth !== false) headers.authorization = `Bearer ${key}`;
  if (init.body !== undefined) headers["content-type"] = init.contentType ?? "application/json";
  const res = await fetch(`${base}${init.path ?? op.path}${init.query ?? ""}`, { method: op.method.toUpperCase(), headers, body: init.body, redirect: "manual" });
  const text = await res.text();
  return { status: res.status, text, requestId: res.headers.get("x-request-id"), contentType: res.headers.get("content-type") ?? "" };
}

function expectConforms(op: SpecOperation, r: Awaited<ReturnType<typeof call>>) {
  const label = `${op.operationId} → ${r.status}: ${r.text.slice(0, 300)}`;
  expect(r.status, label).toBeLessThan(500 + (r.status === 501 || r.status === 503 ? 100 : 0));
  if (r.status === 501) {
    expect(unimplemented.has(op.operationId), `${op.operationId} answered 501 but is not listed as unimplemented`).toBe(true);
    return;
  }
  expect(documentedStatuses(op), label).toContain(r.status);
  expect(r.requestId, label).toBeTruthy();
  if (r.contentType.includes("application/json")) {
    const validate = responseValidator(op, r.status);
    if (validate) expect(validate(JSON.parse(r.text)), `${label}\n${JSON.stringify(validate.errors)}`).toBe(true);
  }
}

const withPathIds = (op: SpecOperation, id: string) => op.path.replace(/\{[^}]+\}/g, id);
const authenticated = operations.filter((op) => op.authenticated);

describe("every authenticated operation", () => {
  it.each(authenticated.map((op) => [op.operationId, op] as const))("%s refuses a missing key with a documented 401", async (_id, op) => {
    const r = await call(op, { auth: false, path: withPathIds(op, randomUUID()), ...(op.method === "post" ? { body: "{}" } : {}) });
    expect(r.status).toBe(401);
    expectConforms(op, r);
    expect(JSON.parse(r.text).error.code).toBe("unauthorized");
  });
});

describe("reads without parameters", () => {
  const reads = operations.filter((op) => op.method === "get" && !op.path.includes("{") && op.operationId !== "oauthAuthorize" && op.operationId !== "getOAuthConsent");
  it.each(reads.map((op) => [op.operationId, op] as const))("%s answers a documented status and body", async (_id, op) => {
    const required = ((operationObject(op).parameters as Array<{ in: string; required?: boolean }> | undefined) ?? []).some((p) => p.required);
    const r = await call(op, { ...(required ? {} : {}) });
    expectConforms(op, r);
    if (!required) expect(r.status === 200 || r.status === 501 || r.status === 503, `${op.operationId}: ${r.status} ${r.text}`).toBe(true);
  });
});

describe("path ids", () => {
  const byId = operations.filter((op) => op.path.includes("{id}") && op.authenticated);
  it.each(byId.map((op) => [op.operationId, op] as const))("%s: malformed id → 400, unknown id → 404 (or 400 for its body)", async (_id, op) => {
    const body = op.method === "post" ? "{}" : undefined;
    const uuidParam = JSON.stringify(operationObject(op).parameters ?? []).includes('"format":"uuid"');
    const malformed = await call(op, { path: withPathIds(op, "not-a-uuid"), ...(body ? { body } : {}) });
    expectConforms(op, malformed);
    if (uuidParam && malformed.status !== 501) expect(malformed.status).toBe(400);
    const unknown = await call(op, { path: withPathIds(op, randomUUID()), ...(body ? { body } : {}) });
    expectConforms(op, unknown);
    if (unknown.status !== 501) expect([400, 404]).toContain(unknown.status);
  });
});

/** A value of the wrong JSON type for a property schema. */
function wrongValue(schema: Schema): unknown {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "string":
      return 12345;
    case "integer":
    case "number":
      return "not a number";
    case "boolean":
      return "yes";
    case "array":
      return { not: "an array" };
    case "object":
      return ["not", "an", "object"];
    default:
      return null;
  }
}

describe("request bodies", () => {
  const withJsonBody = operations.filter((op) => {
    const content = (operationObject(op).requestBody as { content?: Record<string, unknown> } | undefined)?.content;
    return op.authenticated && !!content?.["application/json"];
  });
  it.each(withJsonBody.map((op) => [op.operationId, op] as const))("%s rejects malformed JSON, non-objects and wrongly typed fields without a 5xx", async (_id, op) => {
    const path = withPathIds(op, randomUUID());
    const schema = ((operationObject(op).requestBody as { content: Record<string, { schema: Schema }> }).content["application/json"]!.schema ?? {}) as Schema;
    const cases: string[] = ['{"unterminated": ', "[1, 2, 3]", '"just a string"'];
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [name, prop] of Object.entries(properties)) cases.push(JSON.stringify({ [name]: wrongValue(prop) }));
    for (const body of cases) {
      const r = await call(op, { path, body });
      expectConforms(op, r);
      if (r.status !== 501) expect(r.status, `${op.operationId} accepted ${body}`).toBeGreaterThanOrEqual(400);
    }
    const wrongType = await call(op, { path, body: "a=1", contentType: "text/plain" });
    expectConforms(op, wrongType);
  });
});
