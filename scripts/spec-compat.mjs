#!/usr/bin/env node
// Breaking-change check of spec/aeriox.openapi.yaml against the seed we were given
// (spec/baseline/aeriox.openapi.seed.json). Exits 1 with a list of problems when:
//   - a seed path + method is gone, or its operationId changed;
//   - a request gained a required parameter, a required body, or a required body field;
//   - a response status, response media type or response property of the seed is gone;
//   - an enum value of the seed (request or response) is gone.
// Usage: node scripts/spec-compat.mjs [--base <seed.json|yaml>] [--spec <spec.yaml>]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : fallback;
};
const basePath = arg("--base", path.join(root, "spec/baseline/aeriox.openapi.seed.json"));
const specPath = arg("--spec", path.join(root, "spec/aeriox.openapi.yaml"));

// A YAML parser without a dependency of our own: the one of the root devDependency @redocly/cli,
// else the `yaml` package of the server.
async function yamlParser() {
  const attempts = [
    async () => {
      const req = createRequire(createRequire(path.join(root, "package.json")).resolve("@redocly/cli/package.json"));
      const core = await import(pathToFileURL(req.resolve("@redocly/openapi-core")).href);
      return (text) => core.parseYaml(text);
    },
    async () => {
      const req = createRequire(path.join(root, "packages/server/package.json"));
      const yaml = req("yaml");
      return (text) => yaml.parse(text);
    },
  ];
  for (const attempt of attempts) {
    try {
      return await attempt();
    } catch {
      // try the next one
    }
  }
  throw new Error("No YAML parser found (install the root devDependencies first)");
}

const parseYaml = await yamlParser();
const load = (file) => {
  const text = readFileSync(file, "utf8");
  return file.endsWith(".json") ? JSON.parse(text) : parseYaml(text);
};
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
  const out = { properties: {}, required: new Set(), enum: null, items: null };
  if (!schema || typeof schema !== "object" || depth > 20) return out;
  Object.assign(out.properties, schema.properties ?? {});
  for (const r of schema.required ?? []) out.required.add(r);
  if (Array.isArray(schema.enum)) out.enum = schema.enum;
  if (schema.items) out.items = schema.items;
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

/** direction "request": no new required field; "response": no removed property. Both: no removed enum value. */
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
  } else {
    for (const name of Object.keys(o.properties)) {
      if (!(name in n.properties)) report(where, `response property '${name}' removed`);
    }
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
      if (np.required && !op?.required) report(where, `new required parameter ${paramKey(np)}`);
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

if (problems.length) {
  console.error(`spec-compat: ${problems.length} breaking change(s) against ${path.relative(root, basePath)}:`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}
console.log(`spec-compat: ${path.relative(root, specPath)} is backward compatible with ${path.relative(root, basePath)}`);
