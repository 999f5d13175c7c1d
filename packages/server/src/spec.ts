/**
 * The spec is read once from `spec/aeriox.openapi.yaml` (the single source) and
 * indexed by operationId: method, path, tag, whether it needs credentials and
 * which scope (`x-aeriox-scope`). The CLI bundle also ships the same document as
 * JSON, made from the YAML when the bundle is built (packages/cli/tsup.config.ts):
 * parsing the YAML was the largest single cost of `aeriox serve` start-up (~1 s on
 * a quiet machine; JSON.parse of the same document takes ~20 ms).
 */
import { existsSync, readFileSync } from "node:fs";
import { parse } from "yaml";
import { resourcePath } from "@aeriox/core/resources";
import { bodyPrunerFor, type BodyPruner } from "./http/documented-body.ts";

export const SPEC_PATH = resourcePath("spec/aeriox.openapi.yaml", new URL("../../../spec/aeriox.openapi.yaml", import.meta.url));
/** Only in the bundle's resources; in the workspace the YAML is read. */
const SPEC_JSON_PATH = resourcePath("spec/aeriox.openapi.json", new URL("../../../spec/aeriox.openapi.json", import.meta.url));

function readSpecDocument(): Record<string, any> {
  if (existsSync(SPEC_JSON_PATH)) return JSON.parse(readFileSync(SPEC_JSON_PATH, "utf8")) as Record<string, any>;
  return parse(readFileSync(SPEC_PATH, "utf8")) as Record<string, any>;
}

export type Scope = "read" | "generate" | "admin";
export const HTTP_METHODS = ["get", "post", "put", "patch", "delete"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface SpecOperation {
  operationId: string;
  method: HttpMethod;
  path: string;
  /** Express 5 route path: `/v1/jobs/{id}` → `/v1/jobs/:id`. */
  routePath: string;
  tag: string;
  /** false when the operation declares `security: []`. */
  authenticated: boolean;
  scope: Scope | null;
  deprecated: boolean;
  /** Drops the body properties the operation's request schema does not document. */
  pruneBody: BodyPruner;
}

export interface LoadedSpec {
  document: Record<string, unknown>;
  /** The document serialised once for `GET /openapi.json`. */
  json: string;
  operations: SpecOperation[];
}

let cached: LoadedSpec | undefined;

/** The JSON request schema (or the form one, for the OAuth endpoints). */
function requestSchemaOf(document: Record<string, any>, requestBody: any): unknown {
  const ref = typeof requestBody?.$ref === "string" ? requestBody.$ref.split("/").pop() : undefined;
  const content = (ref ? document.components?.requestBodies?.[ref] : requestBody)?.content ?? {};
  return (content["application/json"] ?? content["application/x-www-form-urlencoded"] ?? Object.values(content)[0])?.schema;
}

export function loadSpec(): LoadedSpec {
  if (cached) return cached;
  const document = readSpecDocument();
  const globalSecurity: unknown[] = document.security ?? [];
  const operations: SpecOperation[] = [];
  for (const [path, item] of Object.entries<Record<string, any>>(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!op) continue;
      const security: unknown[] = op.security ?? globalSecurity;
      operations.push({
        operationId: op.operationId,
        method,
        path,
        routePath: path.replace(/\{([^}]+)\}/g, ":$1"),
        tag: op.tags?.[0] ?? "default",
        authenticated: security.length > 0,
        scope: (op["x-aeriox-scope"] as Scope | undefined) ?? null,
        deprecated: op.deprecated === true,
        pruneBody: bodyPrunerFor(document, requestSchemaOf(document, op.requestBody)),
      });
    }
  }
  cached = { document, json: JSON.stringify(document), operations };
  return cached;
}

/** A fresh deep copy: express-openapi-validator mutates the document it is given. */
export function specDocumentCopy(): Record<string, unknown> {
  return JSON.parse(loadSpec().json) as Record<string, unknown>;
}

const pathMatchers = new Map<string, RegExp>();

function matcherFor(specPath: string): RegExp {
  let re = pathMatchers.get(specPath);
  if (!re) {
    const literal = (part: string) => part.replace(/[.*+?^$()|[\]\\]/g, "\\$&");
    re = new RegExp("^" + specPath.split(/\{[^}]+\}/).map(literal).join("[^/]+") + "/?$");
    pathMatchers.set(specPath, re);
  }
  return re;
}

/** Upper-case methods the spec allows on a concrete request path (for `Allow` and CORS preflight). */
export function methodsForPath(requestPath: string): string[] {
  const methods = new Set<string>();
  for (const op of loadSpec().operations) if (matcherFor(op.path).test(requestPath)) methods.add(op.method.toUpperCase());
  return [...methods];
}

const templateCount = (specPath: string) => specPath.match(/\{/g)?.length ?? 0;
let byMethod: Map<string, SpecOperation[]> | undefined;

/**
 * The operation a request addresses, if any; literal paths win over templated ones
 * (`/v1/cards/search` vs `/v1/cards/{id}`). Runs on every request (authentication, the
 * input guard): each method's operations are ordered once, fewest templates first, and
 * the first match wins.
 */
export function matchOperation(method: string, requestPath: string): SpecOperation | undefined {
  if (!byMethod) {
    byMethod = new Map();
    for (const op of loadSpec().operations) byMethod.set(op.method, [...(byMethod.get(op.method) ?? []), op]);
    // Array.prototype.sort is stable: among equals, the spec's order decides, as before.
    for (const ops of byMethod.values()) ops.sort((a, b) => templateCount(a.path) - templateCount(b.path));
  }
  for (const op of byMethod.get(method.toLowerCase()) ?? []) if (matcherFor(op.path).test(requestPath)) return op;
  return undefined;
}
