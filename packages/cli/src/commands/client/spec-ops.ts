/**
 * The spec's operations as data (from @aeriox/contract, the one reader of spec/), for the generic
 * `aeriox api <operationId>` command, the spec-driven commands and the MCP tools: method, path,
 * parameters and a JSON body schema with every `$ref` resolved, plus one executor that turns a flat argument object (path + query + header params + body fields) into
 * a request sent through the SDK's transport (retries, Idempotency-Key, typed errors).
 */
import { loadContract, resolveRefs, type Contract, type Schema, type ContractOperation, type JsonSchema, type ParamInfo } from "@aeriox/contract";
import { AuthenticationError, type Aeriox } from "@aeriox/sdk";

export { resolveRefs, type JsonSchema, type ParamInfo };

/** An operation of the contract (dereferenced parameters and body included). */
export type OperationInfo = ContractOperation;

/**
 * The contract the client commands and MCP tools are built from: the spec this CLI ships, or the
 * OpenAPI document named by `AERIOX_CLIENT_SPEC` (e.g. a newer server's `/openapi.json` saved to
 * a file), whose new operations then get their commands and tools with no change to the CLI.
 */
export function clientContract(): Contract {
  const file = process.env.AERIOX_CLIENT_SPEC;
  return file ? loadContract(file) : loadContract();
}

export function specDocument(): Schema {
  return clientContract().document;
}

/** Every operation of the spec, in spec order. */
export function specOperations(): OperationInfo[] {
  return clientContract().operations;
}

export function findOperation(operationId: string): OperationInfo | undefined {
  return specOperations().find((o) => o.operationId === operationId || o.operationId.toLowerCase() === operationId.toLowerCase());
}

/** Body fields by name (object bodies; for `oneOf`/`anyOf` bodies, the union of the branches). */
export function bodyProperties(schema: JsonSchema | undefined): Record<string, JsonSchema> {
  if (!schema) return {};
  const props: Record<string, JsonSchema> = { ...((schema.properties as Record<string, JsonSchema>) ?? {}) };
  for (const key of ["oneOf", "anyOf", "allOf"] as const) {
    for (const branch of (schema[key] as JsonSchema[] | undefined) ?? []) {
      for (const [name, s] of Object.entries(bodyProperties(branch))) props[name] ??= s;
    }
  }
  return props;
}

/** Header params a caller never passes itself (the SDK's transport sets Idempotency-Key). */
export const AUTOMATIC_HEADERS = new Set(["idempotency-key"]);

export class MissingApiKeyError extends Error {}

/**
 * Sends one operation. `args` is flat: path/query/header params by name, every other key is a
 * body field (or `body` holds the whole body). Returns the raw Response (2xx; errors throw
 * the SDK's typed AerioxError subclasses).
 */
export async function sendOperation(client: Aeriox, op: OperationInfo, args: Record<string, unknown>, signal?: AbortSignal): Promise<Response> {
  if (op.authenticated && !client.apiKey) throw new MissingApiKeyError("No API key configured");
  const rest = { ...args };
  let urlPath = op.path;
  const query = new URLSearchParams();
  const headers = new Headers({ accept: "application/json, */*;q=0.5" });
  for (const p of op.params) {
    const value = rest[p.name];
    delete rest[p.name];
    if (value === undefined || value === null) {
      if (p.required && p.in === "path") throw new TypeError(`missing path parameter ${p.name}`);
      continue;
    }
    if (p.in === "path") urlPath = urlPath.replace(`{${p.name}}`, encodeURIComponent(String(value)));
    else if (p.in === "query") for (const v of Array.isArray(value) ? value : [value]) query.append(p.name, typeof v === "object" ? JSON.stringify(v) : String(v));
    else if (p.in === "header") headers.set(p.name, String(value));
  }
  let body: BodyInit | undefined;
  if (op.body) {
    const payload = "body" in rest && Object.keys(rest).length === 1 && !("body" in bodyProperties(op.body.schema)) ? rest.body : rest;
    const hasBody = payload !== undefined && !(typeof payload === "object" && payload !== null && !Array.isArray(payload) && Object.keys(payload).length === 0 && !op.body.required);
    if (hasBody) {
      if (op.body.contentType === "application/x-www-form-urlencoded") {
        const form = new URLSearchParams();
        for (const [k, v] of Object.entries((payload as Record<string, unknown>) ?? {})) if (v !== undefined) form.append(k, typeof v === "object" ? JSON.stringify(v) : String(v));
        body = form;
      } else {
        body = JSON.stringify(payload ?? {});
      }
      headers.set("content-type", op.body.contentType);
    }
  }
  if (op.authenticated) headers.set("authorization", `Bearer ${client.apiKey}`);
  const qs = query.toString();
  const url = new URL(client.baseUrl + urlPath + (qs ? `?${qs}` : ""));
  const init: RequestInit = { method: op.method.toUpperCase(), headers };
  if (body !== undefined) init.body = body;
  // OAuth endpoints take no Idempotency-Key (the spec excludes them) and must not be retried.
  const oauth = op.path.startsWith("/v1/oauth/");
  return client.transport.send(new Request(url, init), { ...(oauth && { idempotencyKey: false, maxRetries: 0 }), ...(signal && { signal }), redirect: "manual" });
}

/** Decodes a response: JSON, text, or bytes (binary), `null` when empty. */
export async function decodeResponse(res: Response): Promise<{ kind: "json" | "text" | "binary" | "empty"; value: unknown }> {
  if (res.status === 204 || res.headers.get("content-length") === "0") return { kind: "empty", value: null };
  const type = res.headers.get("content-type") ?? "";
  if (/json/.test(type)) {
    const text = await res.text();
    return text ? { kind: "json", value: JSON.parse(text) } : { kind: "empty", value: null };
  }
  if (/^text\/|xml|javascript/.test(type)) return { kind: "text", value: await res.text() };
  const bytes = new Uint8Array(await res.arrayBuffer());
  return bytes.length ? { kind: "binary", value: bytes } : { kind: "empty", value: null };
}

export { AuthenticationError };
