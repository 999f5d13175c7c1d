/**
 * Values built from schemas: a minimal valid value (required fields only, from `examples`,
 * `default`, `enum` or the bounds), random valid values (`valueArb`, fast-check: the one
 * generator the suite's fuzz and the server's own fuzz test share), and the ways to break a
 * valid one that a schema states (missing required field, wrong type, enum/range/length/format violations).
 */
import fc from "fast-check";
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
/**
 * A URL the server POSTs job events to (spec `WebhookUrl`: `webhook_url`, an endpoint's `url`) must be https and
 * public; `.invalid` never resolves (RFC 6761), so the server accepts it and its deliveries fail and are retried.
 */
const WEBHOOK_URL = "https://webhooks.invalid/aeriox";
const isWebhookUrl = (schema: Schema, name: string) => name === "webhook_url" || /Standard Webhooks/.test(String(schema.description ?? ""));

/** What a schema cannot say about a deployment, given by the caller of `valueArb`. */
export interface ValueOptions {
  /** Real ids mixed into `format: uuid` values (read when a value is drawn, so they may arrive later). */
  ids?: readonly string[] | (() => readonly string[]);
  /** Values for URL fields (`format: uri`/`uri-reference`, or a name with url/uri); default a tiny PNG data URI, a closed loopback port, `data:,`. */
  urls?: fc.Arbitrary<string>;
  /** Strings by field name (model ids, resolutions, …), tried before the schema's own; `undefined` falls through. */
  string?: (schema: Schema, name: string) => fc.Arbitrary<string> | undefined;
  /** The bound of a number with none in its schema (default 1000). */
  magnitude?: number;
  /** At most this many array items beyond `minItems` allows (default 3). */
  maxItems?: number;
}

const textUnit = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789-_.,!?'\"/\\{}[]<>:;") },
  { weight: 1, arbitrary: fc.constantFrom("é", "ß", "中", "😀", "🦊", "\t", "\n", "ﬀ", "\u200b") },
);

/** Text of letters, digits, punctuation and some non-ASCII, at most 40 characters unless `minLength` asks more. */
export const textArb = (minLength = 0, maxLength = 40): fc.Arbitrary<string> => fc.string({ unit: textUnit, minLength, maxLength: Math.max(minLength, Math.min(maxLength, 40)) });

/** Random values the schema accepts (the server may still refuse one for reasons a schema cannot state). */
export function valueArb(document: Schema, input: Schema | undefined, options: ValueOptions = {}, name = "", depth = 0): fc.Arbitrary<unknown> {
  const schema = normalize(document, input);
  if ("const" in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...(schema.enum as unknown[]));
  const branches = (schema.oneOf ?? schema.anyOf) as Schema[] | undefined;
  if (branches?.length && !schema.properties) return fc.oneof(...branches.map((b) => valueArb(document, b, options, name, depth)));
  if (Array.isArray(schema.type)) return fc.oneof(...(schema.type as string[]).map((t) => valueArb(document, { ...schema, type: t }, options, name, depth)));
  switch (schema.type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
    case "number":
      return numberArb(schema, name, options.magnitude ?? 1000);
    case "string":
      return options.string?.(schema, name) ?? stringArb(schema, name, options);
    case "array": {
      const minLength = schema.minItems ?? 0;
      const item = valueArb(document, schema.items, options, name, depth + 1);
      const constraints = { minLength, maxLength: Math.max(minLength, Math.min(schema.maxItems ?? Infinity, options.maxItems ?? 3)) };
      return schema.uniqueItems ? fc.uniqueArray(item, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(item, constraints);
    }
    default:
      return objectArb(document, schema, options, depth);
  }
}

function numberArb(schema: Schema, name: string, magnitude: number): fc.Arbitrary<number> {
  const integer = schema.type === "integer";
  const step = integer ? 1 : 0.001;
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + step : -magnitude);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - step : Math.max(min + magnitude, magnitude));
  if (integer) return fc.integer({ min: Math.max(Math.ceil(min), Number.MIN_SAFE_INTEGER), max: Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER) });
  // USD amounts in whole cents, as a client writes them (finer than a micro-dollar is refused: ARCHITECTURE.md, Errors and inputs).
  if (name.endsWith("_usd")) return fc.integer({ min: Math.ceil(min * 100), max: Math.floor(max * 100) }).map((cents) => cents / 100);
  return fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
}

function stringArb(schema: Schema, name: string, options: ValueOptions): fc.Arbitrary<string> {
  if (schema.format === "uuid") {
    const ids = () => (typeof options.ids === "function" ? options.ids() : (options.ids ?? []));
    return fc.oneof({ weight: 3, arbitrary: fc.uuid() }, { weight: 2, arbitrary: fc.constant(null).chain(() => (ids().length ? fc.constantFrom(...ids()) : fc.uuid())) });
  }
  if (schema.format === "date-time") return fc.date({ min: new Date("2000-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toISOString());
  if (isWebhookUrl(schema, name)) return fc.constant(WEBHOOK_URL);
  if (schema.format === "uri" || schema.format === "uri-reference" || /url|uri/i.test(name)) return options.urls ?? fc.constantFrom(TINY_PNG, "http://127.0.0.1:9/x.png", "data:,");
  const minLength = schema.minLength ?? 0;
  const maxLength = schema.maxLength ?? 40;
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= minLength && s.length <= (schema.maxLength ?? 64));
  return textArb(minLength, maxLength);
}

function objectArb(document: Schema, schema: Schema, options: ValueOptions, depth: number): fc.Arbitrary<unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const names = Object.keys(properties);
  if (names.length === 0 || depth > 4) {
    if (names.length > 0 || schema.additionalProperties === false || depth > 3) return fc.constant({});
    // A free-form object: a few keys of plain leaves.
    const leaf = fc.oneof(fc.integer(), textArb(0, 12), fc.boolean(), fc.constant(null));
    return fc.dictionary(textArb(1, 10), fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })), { maxKeys: Math.min(schema.maxProperties ?? 5, 5) });
  }
  // One of the alternative required sets (an `anyOf` of bare `required` lists), when there are some.
  const choices: string[][] = schema.requiredChoice?.length ? schema.requiredChoice : [[]];
  return fc.constantFrom(...choices).chain((choice) => {
    const required = new Set<string>([...(schema.required ?? []), ...choice]);
    const model = Object.fromEntries(names.map((n) => [n, valueArb(document, properties[n], options, n, depth + 1)]));
    return fc.record(model, { requiredKeys: names.filter((n) => required.has(n)) });
  });
}

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
  if (isWebhookUrl(schema, name)) return WEBHOOK_URL;
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
