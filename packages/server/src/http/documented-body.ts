/**
 * Undocumented request properties are dropped before a handler sees the body, so
 * they can never reach pricing, storage or a provider (docs/ARCHITECTURE.md, Money:
 * "the price of a request is computed only from documented fields").
 *
 * The request schema decides: an object keeps the properties some branch of its schema
 * (`properties` across `allOf`/`anyOf`/`oneOf`) documents, and keeps everything only
 * where the spec opens it explicitly (`additionalProperties: true` or a schema, as for
 * card `attributes` or compose `effects`). A schema that says nothing about extras
 * closes the object here: the validator already accepted the documented part.
 */
type Schema = Record<string, unknown>;
export type BodyPruner = (body: unknown) => unknown;

const keep: BodyPruner = (body) => body;

export function bodyPrunerFor(document: Schema, schema: unknown): BodyPruner {
  const resolve = (s: unknown, depth = 0): Schema | null => {
    if (!s || typeof s !== "object" || depth > 32) return null;
    const ref = (s as Schema).$ref;
    if (typeof ref !== "string") return s as Schema;
    const target = ref.replace(/^#\//, "").split("/").reduce<unknown>((node, key) => (node as Schema | undefined)?.[key.replace(/~1/g, "/").replace(/~0/g, "~")], document);
    return resolve(target, depth + 1);
  };

  /** Every schema that applies to one value: the schema itself and its composition branches. */
  const flatten = (schemas: unknown[], depth = 0): Schema[] =>
    schemas.flatMap((s) => {
      const r = resolve(s);
      if (!r || depth > 32) return [];
      const branches = [r.allOf, r.anyOf, r.oneOf].flatMap((b) => (Array.isArray(b) ? b : []));
      return [r, ...flatten(branches, depth + 1)];
    });

  const compile = (schemas: unknown[], depth: number): BodyPruner => {
    const all = flatten(schemas);
    if (all.length === 0 || depth > 32) return keep;
    const properties = new Map<string, unknown[]>();
    let open = false;
    const items: unknown[] = [];
    for (const s of all) {
      if (s.additionalProperties === true || (typeof s.additionalProperties === "object" && s.additionalProperties !== null)) open = true;
      for (const [name, sub] of Object.entries((s.properties as Schema | undefined) ?? {})) properties.set(name, [...(properties.get(name) ?? []), sub]);
      if (s.items) items.push(s.items);
    }
    const hasObjectShape = properties.size > 0 || all.some((s) => s.type === "object" || (Array.isArray(s.type) && s.type.includes("object")));
    const children = new Map([...properties].map(([name, subs]) => [name, compile(subs, depth + 1)]));
    const item = items.length > 0 ? compile(items, depth + 1) : keep;
    return (value) => {
      if (Array.isArray(value)) return items.length > 0 ? value.map(item) : value;
      if (!value || typeof value !== "object" || !hasObjectShape) return value;
      const out: Record<string, unknown> = {};
      for (const [name, v] of Object.entries(value)) {
        const child = children.get(name);
        if (child) out[name] = child(v);
        else if (open) out[name] = v;
      }
      return out;
    };
  };

  return schema ? compile([schema], 0) : keep;
}
