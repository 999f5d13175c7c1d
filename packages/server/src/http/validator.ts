/**
 * express-openapi-validator, configured once: requests always validated, responses only
 * when configured (tests, development; never in production, where it would re-check
 * every body the handlers built from validated data). Without response validation, requests
 * it would pass without reading anything but their path (`passingWithoutReading`) skip it.
 */
import { createRequire } from "node:module";
import express, { type Request, type RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import type { JsonSchema } from "@aeriox/contract";
import { UUID, UUID_SOURCE } from "@aeriox/core/ids";
import { loadSpec, operationOf, pathRegExp, specDocumentCopy, type SpecOperation } from "../spec.ts";

type PathToRegexp = (path: string, options?: { sensitive?: boolean; strict?: boolean; [k: string]: unknown }) => { regexp: RegExp; keys: Array<{ name: string }> };

/** `require` as the validator's own modules resolve it: the module instances the patches below must reach. */
const requireFromValidator = createRequire(createRequire(import.meta.url).resolve("express-openapi-validator"));

let patched = false;

/**
 * The validator finds a request's operation by compiling every documented path with
 * path-to-regexp, on every request, until one matches (`lookupRoute` in its
 * openapi.metadata.js): with ~45 paths that was the largest self-time frame of the
 * middleware stack under load. The compiled result depends only on the path and two
 * flags and is not mutated by its callers (a non-global RegExp is stateless), so the
 * module instance the validator uses gets a memoised `pathToRegexp`.
 */
function memoizeValidatorPathCompiler(): void {
  const module = requireFromValidator("path-to-regexp") as { pathToRegexp: PathToRegexp };
  const original = module.pathToRegexp;
  const cache = new Map<string, ReturnType<PathToRegexp>>();
  module.pathToRegexp = (path, options) => {
    const plain = typeof path === "string" && (!options || Object.keys(options).every((k) => k === "sensitive" || k === "strict"));
    if (!plain) return original(path, options);
    const key = `${options?.sensitive ? 1 : 0}${options?.strict ? 1 : 0}${path}`;
    let compiled = cache.get(key);
    if (!compiled) {
      compiled = original(path, options);
      // Bounded by the spec's paths in practice; the cap keeps an unexpected caller from growing it.
      if (cache.size < 1000) cache.set(key, compiled);
    }
    return compiled;
  };
}

/**
 * With `validateApiSpec: false` the validator (5.6.2, framework/index.js `initialize`) still
 * compiles the OpenAPI 3.1 meta-schema into an ajv validator it then never calls: ~0.3 s of
 * every start-up's CPU, before `/healthz` can answer. Our spec is checked where it changes
 * (`pnpm lint:spec`, the contract package's tests), so the module instance the validator uses
 * gets a stand-in that compiles nothing and answers "valid" if it is ever asked.
 */
function skipUnusedMetaSchemaCompile(): void {
  const module = requireFromValidator("./framework/openapi.schema.validator") as { OpenAPISchemaValidator: new (opts: { validateApiSpec: boolean }) => unknown };
  const Original = module.OpenAPISchemaValidator;
  module.OpenAPISchemaValidator = function OpenAPISchemaValidator(this: unknown, opts: { validateApiSpec: boolean }) {
    if (opts.validateApiSpec) return new Original(opts);
    return { validate: () => ({ errors: [] }) };
  } as unknown as typeof Original;
}

const isPlainUuid = (schema: JsonSchema) => Object.keys(schema).length === 2 && schema.type === "string" && schema.format === "uuid";

/** An operation a request was validated for, and its path parameters (decoded). */
export interface ValidatedOperation {
  op: SpecOperation;
  params: Record<string, string>;
}

const VALIDATED = Symbol("aeriox.validatedOperation");
type ValidatedRequest = Request & { [VALIDATED]?: ValidatedOperation; openapi?: { openApiRoute: string; pathParams: Record<string, string> } };

interface PathOnly {
  pattern: RegExp;
  names: string[];
}

/**
 * The request paths of an operation the validator has nothing to check on but its path: no
 * request body, no query or header parameters, every path parameter a plain uuid string (the
 * spec's ids) — e.g. `GET /v1/jobs/{id}`, `GET /v1/me` — and no other operation of the method
 * whose path could match the same request. Null for every other operation. Literal segments
 * match exactly (case and all): anything else takes the validator's path.
 */
function pathOnly(op: SpecOperation, operations: readonly SpecOperation[]): PathOnly | null {
  if (op.hasRequestBody || !op.params.every((p) => p.in === "path" && isPlainUuid(p.schema))) return null;
  const sample = op.path.replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000");
  const alsoMatches = (other: SpecOperation) => pathRegExp(other.path, { segment: "[^/]+", trailingSlash: true, ignoreCase: true }).test(sample);
  if (operations.some((other) => other !== op && other.method === op.method && alsoMatches(other))) return null;
  return {
    pattern: pathRegExp(op.path, { segment: `(${UUID_SOURCE})`, trailingSlash: false }),
    names: [...op.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!),
  };
}

const pathOnlyOps = new Map<SpecOperation, PathOnly | null>();

/**
 * The operation and parameters of a request the validator would pass without reading anything
 * but its path: a path-only operation (above), no query string, no body, and each id segment a
 * uuid. On the most frequent requests (a poll, `/v1/me`) the validator cost ~11 % of the API's
 * CPU (a promise hop per middleware, its route lookup, ajv over empty objects). Anything else —
 * including every request it would refuse — goes through the validator, so its answers and
 * their errors are its own.
 */
function passingWithoutReading(req: Request): ValidatedOperation | undefined {
  if (req.body !== undefined || req.url.includes("?")) return undefined;
  const op = operationOf(req);
  if (!op) return undefined;
  let shape = pathOnlyOps.get(op);
  if (shape === undefined) pathOnlyOps.set(op, (shape = pathOnly(op, loadSpec().operations)));
  const match = shape?.pattern.exec(req.path);
  if (!shape || !match) return undefined;
  const params: Record<string, string> = {};
  shape.names.forEach((name, i) => (params[name] = match[i + 1]!));
  return { op, params };
}

let byRoute: Map<string, SpecOperation> | undefined;

/**
 * The operation the request was validated for: the one express-openapi-validator matched (its
 * `req.openapi`), or the path-only one that skipped it. Undefined when neither ran (a route
 * outside the spec). Dispatch uses this, so a handler always runs for the operation whose
 * schema checked the request.
 */
export function validatedOperation(req: Request): ValidatedOperation | undefined {
  const r = req as ValidatedRequest;
  if (r[VALIDATED]) return r[VALIDATED];
  if (!r.openapi) return undefined;
  byRoute ??= new Map(loadSpec().operations.map((op) => [`${op.method} ${op.path}`, op]));
  const op = byRoute.get(`${req.method.toLowerCase()} ${r.openapi.openApiRoute}`);
  return op && { op, params: r.openapi.pathParams };
}

export function requestValidator(options: { responseValidation: boolean }): RequestHandler[] {
  if (!patched) {
    patched = true;
    memoizeValidatorPathCompiler();
    skipUnusedMetaSchemaCompile();
  }
  const validator = eovMiddleware(options);
  // Response validation needs the validator's per-request metadata: with it on, every request takes the validator.
  if (options.responseValidation) return validator;
  const chain = express.Router();
  chain.use(validator);
  return [
    (req, res, next) => {
      const passing = passingWithoutReading(req);
      if (!passing) return chain(req, res, next);
      (req as ValidatedRequest)[VALIDATED] = passing;
      next();
    },
  ];
}

function eovMiddleware(options: { responseValidation: boolean }): RequestHandler[] {
  return OpenApiValidator.middleware({
    apiSpec: specDocumentCopy() as never,
    validateApiSpec: false,
    validateRequests: { allowUnknownQueryParameters: false, coerceTypes: false, allErrors: true },
    validateResponses: options.responseValidation ? { allErrors: true } : false,
    validateSecurity: false,
    ignoreUndocumented: false,
    fileUploader: false,
    validateFormats: true,
    ajvFormats: { mode: "full" },
    // ajv-formats' `uuid` also passes the URN form (`urn:uuid:…`), which PostgreSQL's uuid
    // type refuses: such a path id reached the database and answered 500. Only the plain
    // 8-4-4-4-12 form (what the server ever hands out) is a uuid here; anything else is a 400.
    formats: { uuid: UUID },
  }) as unknown as RequestHandler[];
}
