/**
 * The spec as the server uses it, from @aeriox/contract (the one reader of `spec/`; in the CLI
 * bundle it reads the JSON copy made at build time, for start-up speed): each operation with its
 * parameters and a pruner of undocumented body fields, the serialised document for
 * `GET /openapi.json`, and request → operation matching.
 */
import { loadContract, SPEC_PATH as CONTRACT_SPEC_PATH, HTTP_METHODS, type ContractOperation, type HttpMethod, type ParamInfo, type Schema, type Scope } from "@aeriox/contract";
import { bodyPrunerFor, type BodyPruner } from "./http/documented-body.ts";

export const SPEC_PATH = CONTRACT_SPEC_PATH;
export { HTTP_METHODS, type HttpMethod, type Scope };

export interface SpecOperation {
  operationId: string;
  method: HttpMethod;
  path: string;
  tag: string;
  /** false when the operation declares `security: []`. */
  authenticated: boolean;
  scope: Scope | null;
  deprecated: boolean;
  /** Drops the body properties the operation's request schema does not document. */
  pruneBody: BodyPruner;
  /** Path, query and header parameters, `$ref`s resolved. */
  readonly params: readonly ParamInfo[];
  hasRequestBody: boolean;
}

export interface LoadedSpec {
  document: Record<string, unknown>;
  /** The document serialised once for `GET /openapi.json`. */
  json: string;
  operations: SpecOperation[];
}

let cached: LoadedSpec | undefined;

/** The JSON request schema (or the form one, for the OAuth endpoints). */
function requestSchemaOf(document: Schema, requestBody: Schema | undefined): unknown {
  const ref = typeof requestBody?.$ref === "string" ? requestBody.$ref.split("/").pop() : undefined;
  const content = (ref ? document.components?.requestBodies?.[ref] : requestBody)?.content ?? {};
  return (content["application/json"] ?? content["application/x-www-form-urlencoded"] ?? Object.values(content)[0])?.schema;
}

function serverOperation(document: Schema, op: ContractOperation): SpecOperation {
  return {
    operationId: op.operationId,
    method: op.method,
    path: op.path,
    tag: op.tag,
    authenticated: op.authenticated,
    scope: op.scope,
    deprecated: op.deprecated,
    pruneBody: bodyPrunerFor(document, requestSchemaOf(document, op.raw.requestBody)),
    get params() {
      return op.params;
    },
    hasRequestBody: op.raw.requestBody !== undefined,
  };
}

export function loadSpec(): LoadedSpec {
  if (cached) return cached;
  const { document, operations } = loadContract();
  cached = { document, json: JSON.stringify(document), operations: operations.map((op) => serverOperation(document, op)) };
  return cached;
}

/** A fresh deep copy: express-openapi-validator mutates the document it is given. */
export function specDocumentCopy(): Record<string, unknown> {
  return JSON.parse(loadSpec().json) as Record<string, unknown>;
}

/**
 * A spec path as a regular expression: each `{param}` becomes `segment` (a capturing group when
 * it is one), literal parts match as written; `trailingSlash` allows one after the path,
 * `ignoreCase` matches as Express's routes do (case-insensitive).
 */
export function pathRegExp(specPath: string, options: { segment: string; trailingSlash: boolean; ignoreCase?: boolean }): RegExp {
  const literal = (part: string) => part.replace(/[.*+?^$()|[\]\\{}]/g, "\\$&");
  return new RegExp(`^${specPath.split(/\{[^}]+\}/).map(literal).join(options.segment)}${options.trailingSlash ? "/?" : ""}$`, options.ignoreCase ? "i" : "");
}

const pathMatchers = new Map<string, RegExp>();

function matcherFor(specPath: string): RegExp {
  let re = pathMatchers.get(specPath);
  if (!re) pathMatchers.set(specPath, (re = pathRegExp(specPath, { segment: "[^/]+", trailingSlash: true })));
  return re;
}

/** Upper-case methods the spec allows on a concrete request path (for `Allow` and CORS preflight). */
export function methodsForPath(requestPath: string): string[] {
  const methods = new Set<string>();
  for (const op of loadSpec().operations) if (matcherFor(op.path).test(requestPath)) methods.add(op.method.toUpperCase());
  return [...methods];
}

const matchedOf = new WeakMap<object, { method: string; path: string; op: SpecOperation | undefined }>();

/**
 * `matchOperation` for a request, matched once per request: authentication, the input guard and
 * the request validator each ask. Matched again only if the method or path changed meanwhile.
 */
export function operationOf(req: { method: string; path: string }): SpecOperation | undefined {
  const { method, path } = req;
  const memo = matchedOf.get(req);
  if (memo && memo.method === method && memo.path === path) return memo.op;
  const op = matchOperation(method, path);
  matchedOf.set(req, { method, path, op });
  return op;
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
