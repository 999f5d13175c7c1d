/**
 * Checks every parsed request once, right after body parsing and before validation,
 * so no handler, database or provider sees what none of them can handle
 * (ARCHITECTURE.md, Errors and inputs):
 * - nesting deeper than BODY_MAX_DEPTH (schema validation and serialisers recurse) → 400 `body_too_deep`;
 * - text PostgreSQL cannot store, in any body or query string, value or property name:
 *   NUL (U+0000) and unpaired UTF-16 surrogates (only a JSON `\ud800` escape makes one) → 400 `invalid_text`;
 * - a path that is not valid percent-encoded UTF-8, or decodes to NUL → 400;
 * - a numeric query parameter not written as a plain decimal (`Infinity`, `0x10`, ` `): the
 *   validator's coercion would turn those into numbers no handler expects → 400 `invalid_request`;
 * - a `*_usd` body amount finer than a micro-dollar → 400 `invalid_request` (money.ts reads it exactly).
 * Each refusal names the failing fields in `details.fields`, as validation errors do.
 */
import type { RequestHandler } from "express";
import { ApiError } from "@aeriox/core/errors";
import { usdToMicros } from "@aeriox/core/money";
import { operationOf } from "../spec.ts";

interface FieldIssue {
  field: string;
  message: string;
}

/** Enough to show the pattern; a body with thousands of bad strings does not get a thousand-line answer. */
const MAX_REPORTED_FIELDS = 20;

const NUL = "\u0000";
/** With the `u` flag a surrogate pair is one code point, so only an unpaired half matches. */
const UNPAIRED_SURROGATE = /[\ud800-\udfff]/u;

function textProblem(text: string): string | null {
  if (text.includes(NUL)) return "contains a NUL character (U+0000)";
  if (UNPAIRED_SURROGATE.test(text)) return "contains an unpaired UTF-16 surrogate";
  return null;
}

function isContainer(value: unknown): value is Record<string, unknown> | unknown[] {
  return typeof value === "object" && value !== null;
}

/** The path to the first container nested deeper than `maxDepth` (the body itself is depth 1), or null. */
export function tooDeepAt(root: unknown, rootName: string, maxDepth: number): string | null {
  if (!isContainer(root)) return null;
  // Iterative: the point is to survive inputs that would overflow a recursive walk.
  const stack: Array<{ value: Record<string, unknown> | unknown[]; path: string; depth: number }> = [{ value: root, path: rootName, depth: 1 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (depth > maxDepth) return path;
    for (const [key, child] of Object.entries(value)) {
      if (isContainer(child)) stack.push({ value: child, path: `${path}.${key}`, depth: depth + 1 });
    }
  }
  return null;
}

/** Strings (values and property names) in a parsed body or query that cannot be stored as text. */
export function textIssues(root: unknown, rootName: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: rootName }];
  while (stack.length > 0 && issues.length < MAX_REPORTED_FIELDS) {
    const { value, path } = stack.pop()!;
    if (typeof value === "string") {
      const problem = textProblem(value);
      if (problem) issues.push({ field: path, message: problem });
    } else if (isContainer(value)) {
      for (const [key, child] of Object.entries(value)) {
        const keyProblem = textProblem(key);
        if (keyProblem) {
          // The bad name is not echoed back: the field is its parent.
          issues.push({ field: path, message: `has a property name that ${keyProblem}` });
          continue;
        }
        stack.push({ value: child, path: `${path}.${key}` });
      }
    }
  }
  return issues.reverse();
}

/** Numbers under a `*_usd` property, which are USD amounts by the API's naming (ARCHITECTURE.md, Money). */
function usdAmountIssues(root: unknown, rootName: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const stack: Array<{ value: unknown; path: string }> = [{ value: root, path: rootName }];
  while (stack.length > 0 && issues.length < MAX_REPORTED_FIELDS) {
    const { value, path } = stack.pop()!;
    if (!isContainer(value)) continue;
    for (const [key, child] of Object.entries(value)) {
      const field = `${path}.${key}`;
      if (key.endsWith("_usd") && typeof child === "number") {
        try {
          usdToMicros(child, field);
        } catch (err) {
          const details = (err as ApiError).details as { fields?: FieldIssue[] } | undefined;
          issues.push(...(details?.fields ?? [{ field, message: "is not a valid USD amount" }]));
        }
      } else {
        stack.push({ value: child, path: field });
      }
    }
  }
  return issues;
}

const DECIMAL_INTEGER = /^-?\d{1,16}(\.0{1,16})?$/;
const DECIMAL_NUMBER = /^-?\d{1,16}(\.\d{1,16})?([eE][+-]?\d{1,3})?$/;

type NumericKind = "integer" | "number";
const numericParametersByOperation = new Map<string, Map<string, NumericKind>>();

/** The operation's query parameters declared as integer or number, read once from the spec. */
function numericQueryParameters(req: { method: string; path: string }): Map<string, NumericKind> {
  const op = operationOf(req);
  if (!op) return new Map();
  let found = numericParametersByOperation.get(op.operationId);
  if (!found) {
    found = new Map();
    for (const parameter of op.params) {
      if (parameter.in !== "query") continue;
      const types = ([] as unknown[]).concat(parameter.schema.type ?? []);
      if (types.includes("integer")) found.set(parameter.name, "integer");
      else if (types.includes("number")) found.set(parameter.name, "number");
    }
    numericParametersByOperation.set(op.operationId, found);
  }
  return found;
}

function numericQueryIssues(query: unknown, numeric: Map<string, NumericKind>): FieldIssue[] {
  if (!isContainer(query) || numeric.size === 0) return [];
  const issues: FieldIssue[] = [];
  for (const [name, kind] of numeric) {
    const value = (query as Record<string, unknown>)[name];
    if (typeof value !== "string") continue;
    const ok = kind === "integer" ? DECIMAL_INTEGER.test(value) : DECIMAL_NUMBER.test(value) && Number.isFinite(Number(value));
    if (!ok) issues.push({ field: `query.${name}`, message: kind === "integer" ? "must be a decimal integer" : "must be a decimal number" });
  }
  return issues;
}

function summary(issues: FieldIssue[]): string {
  return issues.map((i) => `${i.field} ${i.message}`).join("; ");
}

/** Decodes each path segment as Express will; null when one is not valid percent-encoded UTF-8. */
function decodedPathSegments(path: string): string[] | null {
  try {
    return path.split("/").map((segment) => decodeURIComponent(segment));
  } catch {
    return null;
  }
}

export function inputGuard(options: { maxDepth: number }): RequestHandler {
  const { maxDepth } = options;
  return (req, _res, next) => {
    const segments = decodedPathSegments(req.path);
    if (!segments) {
      next(ApiError.badRequest("invalid_request", "Request path is not valid percent-encoded UTF-8", { fields: [{ field: "path", message: "is not valid percent-encoded UTF-8" }] }));
      return;
    }
    if (segments.some((segment) => textProblem(segment) !== null)) {
      const fields = [{ field: "path", message: "contains a NUL character (U+0000)" }];
      next(ApiError.badRequest("invalid_text", `Request text cannot be stored: ${summary(fields)}`, { fields }));
      return;
    }

    const body: unknown = req.body;
    const deepAt = tooDeepAt(body, "body", maxDepth);
    if (deepAt !== null) {
      const message = `nests deeper than ${maxDepth} levels`;
      next(
        ApiError.badRequest("body_too_deep", `Request body nests deeper than the limit of ${maxDepth} levels (BODY_MAX_DEPTH)`, {
          max_depth: maxDepth,
          fields: [{ field: deepAt, message }],
        }),
      );
      return;
    }

    const textFields = [...textIssues(req.query, "query"), ...textIssues(body, "body")];
    if (textFields.length > 0) {
      next(ApiError.badRequest("invalid_text", `Request text cannot be stored: ${summary(textFields)}`, { fields: textFields }));
      return;
    }

    const numericFields = numericQueryIssues(req.query, numericQueryParameters(req));
    if (numericFields.length > 0) {
      next(ApiError.badRequest("invalid_request", `Request validation failed: ${summary(numericFields)}`, { fields: numericFields }));
      return;
    }

    const amountFields = usdAmountIssues(body, "body");
    if (amountFields.length > 0) {
      next(ApiError.badRequest("invalid_request", `Request validation failed: ${summary(amountFields)}`, { fields: amountFields }));
      return;
    }
    next();
  };
}
