/** JSON pointers and `$ref`s inside one OpenAPI document (local references only). */
import type { Schema } from "./document.ts";

const unescape = (part: string) => part.replace(/~1/g, "/").replace(/~0/g, "~");
export const escapePointer = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

export function pointerGet(document: Schema, pointer: string): Schema | undefined {
  return pointer
    .replace(/^#\/?/, "")
    .split("/")
    .filter((s) => s.length > 0)
    .reduce<Schema | undefined>((node, part) => node?.[unescape(part)] as Schema | undefined, document);
}

/** Follows `$ref`s from `pointer`; returns the final node and its pointer. */
export function resolveAt(document: Schema, pointer: string): { node: Schema; pointer: string } {
  let current = pointer;
  let node = pointerGet(document, current) ?? {};
  for (let i = 0; i < 50 && typeof node.$ref === "string" && node.$ref.startsWith("#"); i++) {
    current = node.$ref;
    node = pointerGet(document, current) ?? {};
  }
  return { node, pointer: current };
}

/** Follows `$ref`s at the top of `schema` only. */
export function deref(document: Schema, schema: Schema | undefined): Schema {
  let node = schema ?? {};
  for (let i = 0; i < 50 && typeof node.$ref === "string"; i++) node = pointerGet(document, node.$ref) ?? {};
  return node;
}

/** A deep copy of `node` with every local `$ref` inlined (a cycle is cut to `{}`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function resolveRefs(node: unknown, document: Schema, seen: string[] = []): any {
  if (Array.isArray(node)) return node.map((n) => resolveRefs(n, document, seen));
  if (!node || typeof node !== "object") return node;
  const obj = node as Record<string, unknown>;
  if (typeof obj.$ref === "string") {
    const ref = obj.$ref;
    if (!ref.startsWith("#/")) throw new Error(`Unsupported $ref ${ref}`);
    if (seen.includes(ref)) return {};
    const { $ref: _ignored, ...rest } = obj;
    const target = resolveRefs(pointerGet(document, ref), document, [...seen, ref]);
    return Object.keys(rest).length ? { ...target, ...resolveRefs(rest, document, seen) } : target;
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = resolveRefs(v, document, seen);
  return out;
}
