/**
 * Values built from schemas: a minimal valid value (required fields only, from `examples`,
 * `default`, `enum` or the bounds), and the ways to break a valid one that a schema states
 * (missing required field, wrong type, enum/range/length/format violations).
 */
import { deref, type Schema } from "./spec.ts";

/** `allOf` merged into one object schema; an `anyOf` of bare `required` lists becomes `requiredChoice`. */
export function normalize(document: Schema, input: Schema | undefined): Schema {
  const schema = deref(document, input);
  if (!Array.isArray(schema.allOf)) return schema;
  const merged: Schema = { type: "object", properties: {}, required: [] as string[], requiredChoice: [] as string[][] };
  for (const part of (schema.allOf as Schema[]).map((p) => normalize(document, p))) {
    if (Array.isArray(part.anyOf) && part.anyOf.every((b: Schema) => Object.keys(b).every((k) => k === "required"))) {
      merged.requiredChoice = part.anyOf.map((b: Schema) => b.required as string[]);
      continue;
    }
    Object.assign(merged.properties, part.properties ?? {});
    merged.required.push(...(part.required ?? []));
    if ("additionalProperties" in part) merged.additionalProperties = part.additionalProperties;
  }
  return merged;
}

const TINY_PNG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/** A small value the schema accepts. */
export function sample(document: Schema, input: Schema | undefined, name = "", depth = 0): unknown {
  const schema = normalize(document, input);
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum.find((v: unknown) => v !== null) ?? schema.enum[0];
  if (Array.isArray(schema.examples) && schema.examples.length) return schema.examples[0];
  if ("default" in schema) return schema.default;
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (branches?.length && !schema.properties) return sample(document, branches[0], name, depth);
  const type = Array.isArray(schema.type) ? schema.type.find((t: string) => t !== "null") : schema.type;
  switch (type) {
    case "null":
      return null;
    case "boolean":
      return false;
    case "integer":
    case "number": {
      const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : undefined);
      const value = min ?? (schema.maximum !== undefined ? Math.min(1, schema.maximum) : 1);
      return type === "integer" ? Math.ceil(value) : value;
    }
    case "string":
      return stringSample(schema, name);
    case "array": {
      const n = Math.max(1, schema.minItems ?? 0);
      return Array.from({ length: n }, () => sample(document, schema.items, name, depth + 1));
    }
    default: {
      if (depth > 6) return {};
      const out: Record<string, unknown> = {};
      const fields = [...((schema.required ?? []) as string[]), ...((schema.requiredChoice?.[0] ?? []) as string[])];
      for (const field of fields) out[field] = sample(document, schema.properties?.[field], field, depth + 1);
      return out;
    }
  }
}

function stringSample(schema: Schema, name: string): string {
  if (schema.format === "uuid") return "00000000-0000-4000-8000-000000000000";
  if (schema.format === "date-time") return new Date().toISOString();
  if (schema.format === "uri" || /url|uri/i.test(name)) return TINY_PNG;
  if (schema.pattern) {
    if (new RegExp(schema.pattern).test("contract-test")) return "contract-test";
    if (new RegExp(schema.pattern).test("ct1")) return "ct1";
  }
  const min = schema.minLength ?? 0;
  const base = name === "prompt" || name === "text" ? "a contract test" : "contract-test";
  const max = schema.maxLength ?? base.length;
  return base.slice(0, Math.max(min, Math.min(max, base.length))).padEnd(min, "x");
}

export interface Mutation {
  label: string;
  body: unknown;
}

/** Ways to break a valid object body that its schema states, field by field (top level and one level down). */
export function mutations(document: Schema, schemaInput: Schema, valid: Record<string, unknown>, form = false): Mutation[] {
  const schema = normalize(document, schemaInput);
  const out: Mutation[] = [];
  const choices: string[][] = schema.requiredChoice ?? [];
  if (choices.length) {
    const all = new Set(choices.flat());
    out.push({ label: `none of ${[...all].join(" / ")}`, body: Object.fromEntries(Object.entries(valid).filter(([k]) => !all.has(k))) });
  }
  const required: string[] = schema.required ?? [];
  for (const field of required) {
    if (field in valid) {
      const { [field]: _removed, ...rest } = valid;
      out.push({ label: `missing required ${field}`, body: rest });
    }
  }
  if (schema.additionalProperties === false) out.push({ label: "undocumented property (additionalProperties: false)", body: { ...valid, contract_test_extra: 1 } });
  for (const [field, propInput] of Object.entries<Schema>(schema.properties ?? {})) {
    const prop = normalize(document, propInput);
    // Form fields are strings on the wire: a wrong JSON type cannot be sent.
    for (const bad of violationsOf(prop).filter((b) => !(form && b.label.startsWith("wrong type")))) out.push({ label: `${field}: ${bad.label}`, body: { ...valid, [field]: bad.value } });
  }
  return out;
}

/** Values that break one statement of a (leaf) schema. */
export function violationsOf(schema: Schema): Array<{ label: string; value: unknown }> {
  const out: Array<{ label: string; value: unknown }> = [];
  const types: string[] = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  if (types.length && !schema.oneOf && !schema.anyOf) {
    const wrong = !types.includes("string") ? "not-the-right-type" : !types.includes("object") ? { wrong: "type" } : !types.includes("number") && !types.includes("integer") ? 12345 : null;
    if (wrong !== null || !types.includes("null")) out.push({ label: `wrong type (${types.join("|")})`, value: wrong ?? (types.includes("boolean") ? [] : true) });
  }
  const nullable = types.includes("null");
  if (Array.isArray(schema.enum)) {
    if (schema.enum.every((v: unknown) => typeof v === "string" || v === null)) out.push({ label: "value outside the enum", value: "not_in_enum_ct" });
    else if (schema.enum.every((v: unknown) => typeof v === "boolean")) out.push({ label: "value outside the enum", value: !schema.enum[0] });
  }
  if (types.includes("string") && !schema.enum) {
    if (typeof schema.maxLength === "number" && schema.maxLength < 100_000) out.push({ label: `longer than maxLength ${schema.maxLength}`, value: "x".repeat(schema.maxLength + 1) });
    if (typeof schema.minLength === "number" && schema.minLength > 0) out.push({ label: `shorter than minLength ${schema.minLength}`, value: "x".repeat(schema.minLength - 1) });
    if (schema.format === "uuid") out.push({ label: "not a uuid", value: "not-a-uuid" });
    if (schema.format === "uri") out.push({ label: "not a uri", value: "not a uri" });
    if (schema.format === "date-time") out.push({ label: "not a date-time", value: "yesterday" });
  }
  if (types.includes("number") || types.includes("integer")) {
    if (typeof schema.maximum === "number") out.push({ label: `above maximum ${schema.maximum}`, value: schema.maximum + 1 });
    if (typeof schema.minimum === "number") out.push({ label: `below minimum ${schema.minimum}`, value: schema.minimum - 1 });
    if (typeof schema.exclusiveMinimum === "number") out.push({ label: `not above exclusiveMinimum ${schema.exclusiveMinimum}`, value: schema.exclusiveMinimum });
    if (types.includes("integer") && !types.includes("number")) out.push({ label: "not an integer", value: 1.5 });
  }
  if (types.includes("array")) {
    if (typeof schema.maxItems === "number" && schema.maxItems < 1000) out.push({ label: `more than maxItems ${schema.maxItems}`, value: Array.from({ length: schema.maxItems + 1 }, (_, i) => (schema.uniqueItems ? `v${i}` : "v")) });
    if (typeof schema.minItems === "number" && schema.minItems > 0) out.push({ label: `fewer than minItems ${schema.minItems}`, value: [] });
  }
  void nullable;
  return out;
}
