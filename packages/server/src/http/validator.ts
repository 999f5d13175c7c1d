/**
 * express-openapi-validator, configured once: requests always validated, responses only
 * when configured (tests, development; never in production, where it would re-check
 * every body the handlers built from validated data).
 */
import { createRequire } from "node:module";
import type { RequestHandler } from "express";
import * as OpenApiValidator from "express-openapi-validator";
import { specDocumentCopy } from "../spec.ts";

type PathToRegexp = (path: string, options?: { sensitive?: boolean; strict?: boolean; [k: string]: unknown }) => { regexp: RegExp; keys: Array<{ name: string }> };

/** `require` as the validator's own modules resolve it: the module instances the patches below must reach. */
const requireFromValidator = createRequire(createRequire(import.meta.url).resolve("express-openapi-validator"));

let patched = false;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

export function requestValidator(options: { responseValidation: boolean }): RequestHandler[] {
  if (!patched) {
    patched = true;
    memoizeValidatorPathCompiler();
    skipUnusedMetaSchemaCompile();
  }
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
