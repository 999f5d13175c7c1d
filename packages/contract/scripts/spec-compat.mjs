#!/usr/bin/env node
// Breaking-change check of spec/aeriox.openapi.yaml against the seed we were given
// (spec/baseline/aeriox.openapi.seed.json). Exits 1 with a list of problems when:
//   - a seed path + method is gone, or its operationId changed;
//   - a request gained a required parameter, a required body, or a required body field;
//   - a response status, response media type or response property of the seed is gone;
//   - an enum value of the seed (request or response) is gone;
//   - a request was made stricter: a new or changed `format` or `pattern`, a lower `maxLength` /
//     `maxItems` / `maxProperties` / `maximum`, a higher `minLength` / `minItems` / `minimum`, an
//     enum where any value was allowed, `additionalProperties: false` where extra fields were
//     accepted, a new required header (or other parameter);
//   - a response field was made optional (no longer `required`) or nullable.
// A difference named in spec/compat-allowlist.json is intentional: it is printed as allowed, with
// the spec/CHANGELOG.md section and entry the allow-list names (checked to exist), and does not fail.
// An allow-list entry that matches nothing fails the check (stale entries hide nothing).
// Usage: pnpm spec:compat [--base <seed.json|yaml>] [--spec <spec.yaml>] [--allowlist <file.json>]
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
// The contract package's one reader of OpenAPI documents (JSON or YAML); run under tsx, which loads it.
import { readDocumentFile } from "../src/document.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : fallback;
};
const basePath = arg("--base", path.join(root, "spec/baseline/aeriox.openapi.seed.json"));
const specPath = arg("--spec", path.join(root, "spec/aeriox.openapi.yaml"));
const allowlistPath = arg("--allowlist", path.join(root, "spec/compat-allowlist.json"));
const changelogPath = path.join(root, "spec/CHANGELOG.md");

const load = readDocumentFile;
const base = load(basePath);
const spec = load(specPath);

function resolver(doc) {
  return (node) => {
    let seen = 0;
    while (node && typeof node === "object" && typeof node.$ref === "string" && node.$ref.startsWith("#/")) {
      if (++seen > 50) throw new Error(`$ref cycle at ${node.$ref}`);
      node = node.$ref
        .slice(2)
        .split("/")
        .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
        .reduce((n, key) => (n == null ? n : n[key]), doc);
    }
    return node;
  };
}
const rb = resolver(base);
const rs = resolver(spec);

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const problems = [];
const report = (where, msg) => problems.push(`${where}: ${msg}`);

/** Properties, required names and enum of a schema, merging allOf/oneOf/anyOf branches (lenient union). */
function view(schema, resolve, depth = 0) {
  schema = resolve(schema);
  const out = { properties: {}, required: new Set(), enum: null, items: null, node: schema ?? {}, nullable: false };
  if (!schema || typeof schema !== "object" || depth > 20) return out;
  out.nullable = allowsNull(schema, resolve);
  Object.assign(out.properties, schema.properties ?? {});
  for (const r of schema.required ?? []) out.required.add(r);
  if (Array.isArray(schema.enum)) out.enum = schema.enum;
  if (schema.items) out.items = schema.items;
  // A field every non-null branch of a oneOf/anyOf requires is required (`oneOf: [X, null]` keeps X's).
  for (const key of ["oneOf", "anyOf"]) {
    const branches = (schema[key] ?? []).filter((b) => resolve(b)?.type !== "null").map((b) => view(b, resolve, depth + 1));
    if (branches.length) for (const r of branches[0].required) if (branches.every((b) => b.required.has(r))) out.required.add(r);
  }
  for (const key of ["allOf", "oneOf", "anyOf"]) {
    for (const branch of schema[key] ?? []) {
      const v = view(branch, resolve, depth + 1);
      for (const [k, p] of Object.entries(v.properties)) out.properties[k] ??= p;
      // only allOf makes a branch's required fields required for the whole schema
      if (key === "allOf") for (const r of v.required) out.required.add(r);
      if (v.enum) out.enum = [...(out.enum ?? []), ...v.enum];
      out.items ??= v.items;
    }
  }
  return out;
}

/** Whether a schema accepts `null` (type list with "null", a null branch, an enum with null, or no type at all). */
function allowsNull(schema, resolve, depth = 0) {
  schema = resolve(schema);
  if (!schema || typeof schema !== "object" || depth > 10) return false;
  if (Array.isArray(schema.type)) return schema.type.includes("null");
  if (schema.type === "null" || schema.nullable === true) return true;
  if (Array.isArray(schema.enum)) return schema.enum.includes(null);
  for (const key of ["oneOf", "anyOf"]) if ((schema[key] ?? []).some((b) => allowsNull(b, resolve, depth + 1))) return true;
  if (Array.isArray(schema.allOf)) return schema.allOf.every((b) => allowsNull(b, resolve, depth + 1));
  return schema.type === undefined && !schema.properties && !schema.$ref && !schema.allOf && !schema.oneOf && !schema.anyOf && !schema.enum && schema.const === undefined;
}

const UPPER = ["maxLength", "maxItems", "maxProperties", "maximum", "exclusiveMaximum"];
const LOWER = ["minLength", "minItems", "minProperties", "minimum", "exclusiveMinimum"];

/** A request schema's own constraints made stricter. */
function tightened(where, o, n) {
  for (const key of UPPER) {
    if (typeof n[key] !== "number") continue;
    if (typeof o[key] !== "number") report(where, `request ${key} ${n[key]} added`, "tightening");
    else if (n[key] < o[key]) report(where, `request ${key} lowered ${o[key]} → ${n[key]}`, "tightening");
  }
  for (const key of LOWER) {
    if (typeof n[key] !== "number") continue;
    if (typeof o[key] !== "number") {
      // A new minLength/minItems/minProperties of 0 says nothing; any new minimum is a bound.
      if (n[key] > 0 || key === "minimum" || key.startsWith("exclusive")) report(where, `request ${key} ${n[key]} added`, "tightening");
    } else if (n[key] > o[key]) report(where, `request ${key} raised ${o[key]} → ${n[key]}`, "tightening");
  }
  const looser = o.format === "uri" && n.format === "uri-reference";
  if (n.format && n.format !== o.format && !looser) report(where, `request format ${JSON.stringify(n.format)} ${o.format ? `replaces ${JSON.stringify(o.format)}` : "added"}`, "tightening");
  if (n.pattern && n.pattern !== o.pattern) report(where, `request pattern ${JSON.stringify(n.pattern)} ${o.pattern ? `replaces ${JSON.stringify(o.pattern)}` : "added"}`, "tightening");
  if (n.additionalProperties === false && o.additionalProperties !== false) report(where, "request additionalProperties: false added", "tightening");
}

/** direction "request": no new required field, no tighter constraint; "response": no removed, optional or nullable property. Both: no removed enum value. */
function compareSchemas(where, oldSchema, newSchema, direction, depth = 0) {
  if (depth > 25 || !oldSchema || !newSchema) return;
  const o = view(oldSchema, rb);
  const n = view(newSchema, rs);
  if (o.enum && n.enum) {
    for (const value of o.enum) {
      if (!n.enum.some((x) => JSON.stringify(x) === JSON.stringify(value))) report(where, `enum value ${JSON.stringify(value)} removed`);
    }
  } else if (o.enum && !n.enum) {
    // widening to no enum at all is compatible
  }
  if (direction === "request") {
    for (const r of n.required) {
      if (!o.required.has(r)) report(where, `new required request field '${r}'`);
    }
    if (n.enum && !o.enum) report(where, `request enum ${JSON.stringify(n.enum)} added (any value was accepted)`, "tightening");
    tightened(where, o.node, n.node);
  } else {
    for (const name of Object.keys(o.properties)) {
      if (!(name in n.properties)) report(where, `response property '${name}' removed`);
      else if (o.required.has(name) && !n.required.has(name)) report(where, `response property '${name}' is no longer required`);
    }
    if (depth > 0 && !o.nullable && n.nullable) report(where, "response value made nullable");
  }
  for (const [name, prop] of Object.entries(o.properties)) {
    if (name in n.properties) compareSchemas(`${where}.${name}`, prop, n.properties[name], direction, depth + 1);
  }
  if (o.items && n.items) compareSchemas(`${where}[]`, o.items, n.items, direction, depth + 1);
}

const paramKey = (p) => `${p.in}:${p.in === "header" ? p.name.toLowerCase() : p.name}`;

for (const [p, baseItem] of Object.entries(base.paths ?? {})) {
  const specItem = spec.paths?.[p];
  for (const method of METHODS) {
    const oldOp = baseItem[method];
    if (!oldOp) continue;
    const where = `${method.toUpperCase()} ${p}`;
    const newOp = specItem?.[method];
    if (!newOp) {
      report(where, "operation removed");
      continue;
    }
    if (oldOp.operationId !== newOp.operationId) report(where, `operationId changed ${oldOp.operationId} → ${newOp.operationId}`);

    // parameters
    const oldParams = new Map([...(baseItem.parameters ?? []), ...(oldOp.parameters ?? [])].map(rb).map((x) => [paramKey(x), x]));
    const newParams = [...(specItem.parameters ?? []), ...(newOp.parameters ?? [])].map(rs);
    for (const np of newParams) {
      const op = oldParams.get(paramKey(np));
      if (np.required && !op?.required) report(where, np.in === "header" ? `new required header ${np.name}` : `new required parameter ${paramKey(np)}`);
      if (op) compareSchemas(`${where} param ${paramKey(np)}`, op.schema, np.schema, "request");
    }

    // request body
    const oldBody = rb(oldOp.requestBody);
    const newBody = rs(newOp.requestBody);
    if (newBody?.required && !oldBody?.required) report(where, "request body became required");
    for (const [ct, media] of Object.entries(oldBody?.content ?? {})) {
      const nm = newBody?.content?.[ct];
      if (!nm) report(where, `request media type ${ct} no longer accepted`);
      else compareSchemas(`${where} body`, media.schema, nm.schema, "request");
    }

    // responses
    for (const [status, oldResp] of Object.entries(oldOp.responses ?? {})) {
      const newResp = rs(newOp.responses?.[status]);
      if (!newResp) {
        report(where, `response ${status} removed`);
        continue;
      }
      for (const [ct, media] of Object.entries(rb(oldResp).content ?? {})) {
        const nm = newResp.content?.[ct];
        if (!nm) report(where, `response ${status} media type ${ct} removed`);
        else compareSchemas(`${where} ${status}`, media.schema, nm.schema, "response");
      }
    }
  }
}

// Intentional differences: each allow-list entry names the CHANGELOG section (and entry) that records it.
const allowlist = existsSync(allowlistPath) ? JSON.parse(readFileSync(allowlistPath, "utf8")) : { allowed: [] };
const changelog = existsSync(changelogPath) ? readFileSync(changelogPath, "utf8") : "";
const sections = new Map();
{
  let current = null;
  for (const line of changelog.split("\n")) {
    const heading = /^##\s+(.+?)\s*$/.exec(line);
    if (heading) {
      current = heading[1];
      sections.set(current, []);
      continue;
    }
    const entry = /^- \*\*(.+?)\*\*/.exec(line);
    if (entry && current) sections.get(current).push(entry[1]);
  }
}
const entries = (allowlist.allowed ?? []).map((e) => {
  const section = [...sections.keys()].find((s) => s === e.section || s.startsWith(`${e.section} `) || s.startsWith(`${e.section} (`));
  const entry = section && e.entry ? sections.get(section).find((t) => t.startsWith(e.entry)) : undefined;
  return { ...e, re: new RegExp(e.match), section, entryTitle: entry, used: 0 };
});
const allowed = [];
const breaking = [];
for (const p of problems) {
  const e = entries.find((x) => x.re.test(p));
  if (e) {
    e.used += 1;
    allowed.push({ p, e });
  } else breaking.push(p);
}
const listProblems = [];
for (const e of entries) {
  if (!e.section) listProblems.push(`allow-list entry ${JSON.stringify(e.match)} names CHANGELOG section ${JSON.stringify(e.section)}, which spec/CHANGELOG.md does not have`);
  else if (e.entry && !e.entryTitle) listProblems.push(`allow-list entry ${JSON.stringify(e.match)} names CHANGELOG entry ${JSON.stringify(e.entry)}, not found under "${e.section}"`);
  if (e.used === 0) listProblems.push(`allow-list entry ${JSON.stringify(e.match)} matches no difference (stale)`);
}

if (allowed.length) {
  console.log(`spec-compat: ${allowed.length} intentional difference(s) against ${path.relative(root, basePath)}, each recorded in spec/CHANGELOG.md:`);
  for (const { p, e } of allowed) console.log(`  ~ ${p}\n      allowed: ${e.reason} — spec/CHANGELOG.md § ${e.section}${e.entryTitle ? ` › ${e.entryTitle}` : ""}`);
}
if (breaking.length || listProblems.length) {
  if (breaking.length) {
    console.error(`spec-compat: ${breaking.length} breaking change(s) against ${path.relative(root, basePath)}:`);
    for (const p of breaking) console.error(`  - ${p}`);
  }
  if (listProblems.length) {
    console.error(`spec-compat: ${path.relative(root, allowlistPath)} is out of date:`);
    for (const p of listProblems) console.error(`  - ${p}`);
  }
  process.exit(1);
}
console.log(`spec-compat: ${path.relative(root, specPath)} is backward compatible with ${path.relative(root, basePath)}${allowed.length ? ` (apart from the ${allowed.length} intentional difference(s) above)` : ""}`);
