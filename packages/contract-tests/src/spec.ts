/**
 * The OpenAPI document the suite checks against: the copy shipped in this package (dist/,
 * copied at build), the repository's `spec/aeriox.openapi.yaml` when run from source, or `--spec`.
 * Indexed by operationId with every `$ref` followed to a JSON pointer, so the validator can
 * compile each schema in place.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

// Schemas are untyped JSON: reading them is index access all the way down.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = Record<string, any>;

export const HTTP_METHODS = ["get", "post", "put", "patch", "delete"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface MediaSpec {
  contentType: string;
  /** JSON pointer (`#/...`) of the schema inside the document, or null when none. */
  schemaPointer: string | null;
  schema: Schema | null;
}

export interface HeaderSpec {
  name: string;
  required: boolean;
  schemaPointer: string | null;
}

export interface ResponseSpec {
  status: string;
  description: string;
  headers: HeaderSpec[];
  content: MediaSpec[];
}

export interface ParameterSpec {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  schema: Schema;
  allowReserved: boolean;
}

export interface Operation {
  operationId: string;
  method: HttpMethod;
  path: string;
  tags: string[];
  authenticated: boolean;
  scope: "read" | "generate" | "admin" | null;
  deprecated: boolean;
  parameters: ParameterSpec[];
  requestBody: { required: boolean; content: MediaSpec[] } | null;
  responses: Map<string, ResponseSpec>;
}

export interface LoadedSpec {
  file: string;
  document: Schema;
  operations: Operation[];
  byId: Map<string, Operation>;
}

/** Where the spec shipped with this package lives (dist/ when built, the repository's when run from source). */
export function defaultSpecPath(): string {
  // Inside the `aeriox` CLI bundle, the spec it ships under dist/resources.
  const resources = (globalThis as { __AERIOX_RESOURCES__?: string }).__AERIOX_RESOURCES__;
  const candidates = [
    ...(resources ? [path.join(resources, "spec/aeriox.openapi.yaml")] : []),
    fileURLToPath(new URL("./aeriox.openapi.yaml", import.meta.url)),
    fileURLToPath(new URL("../../../spec/aeriox.openapi.yaml", import.meta.url)),
  ];
  for (const file of candidates) if (existsSync(file)) return file;
  throw new Error("No OpenAPI document shipped with @aeriox/contract-tests; pass --spec FILE");
}

const escape = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

export function pointerGet(document: Schema, pointer: string): Schema | undefined {
  return pointer
    .replace(/^#\/?/, "")
    .split("/")
    .filter((s) => s.length > 0)
    .reduce<Schema | undefined>((node, part) => node?.[part.replace(/~1/g, "/").replace(/~0/g, "~")] as Schema | undefined, document);
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

export function deref(document: Schema, schema: Schema | undefined): Schema {
  let node = schema ?? {};
  for (let i = 0; i < 50 && typeof node.$ref === "string"; i++) node = pointerGet(document, node.$ref) ?? {};
  return node;
}

export function loadSpec(file: string = defaultSpecPath()): LoadedSpec {
  const text = readFileSync(file, "utf8");
  const document = (file.endsWith(".json") ? JSON.parse(text) : parse(text)) as Schema;
  const globalSecurity: unknown[] = document.security ?? [];
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries<Schema>(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const raw = item[method] as Schema | undefined;
      if (!raw) continue;
      const opPointer = `#/paths/${escape(path)}/${method}`;
      const parameters: ParameterSpec[] = [];
      const rawParams: Array<[Schema, string]> = [
        ...((item.parameters ?? []) as Schema[]).map((p, i): [Schema, string] => [p, `#/paths/${escape(path)}/parameters/${i}`]),
        ...((raw.parameters ?? []) as Schema[]).map((p, i): [Schema, string] => [p, `${opPointer}/parameters/${i}`]),
      ];
      for (const [, pointer] of rawParams) {
        const { node } = resolveAt(document, pointer);
        parameters.push({ name: node.name, in: node.in, required: node.required === true, schema: deref(document, node.schema), allowReserved: node.allowReserved === true });
      }
      let requestBody: Operation["requestBody"] = null;
      if (raw.requestBody) {
        const { node, pointer } = resolveAt(document, `${opPointer}/requestBody`);
        requestBody = { required: node.required === true, content: mediaOf(document, node, pointer) };
      }
      const responses = new Map<string, ResponseSpec>();
      for (const status of Object.keys(raw.responses ?? {})) {
        const { node, pointer } = resolveAt(document, `${opPointer}/responses/${escape(status)}`);
        const headers: HeaderSpec[] = Object.keys(node.headers ?? {}).map((name) => {
          const header = resolveAt(document, `${pointer}/headers/${escape(name)}`);
          return { name: name.toLowerCase(), required: header.node.required === true, schemaPointer: header.node.schema ? `${header.pointer}/schema` : null };
        });
        responses.set(status, { status, description: node.description ?? "", headers, content: mediaOf(document, node, pointer) });
      }
      const security: unknown[] = raw.security ?? globalSecurity;
      operations.push({
        operationId: raw.operationId,
        method,
        path,
        tags: raw.tags ?? [],
        authenticated: security.length > 0,
        scope: raw["x-aeriox-scope"] ?? null,
        deprecated: raw.deprecated === true,
        parameters,
        requestBody,
        responses,
      });
    }
  }
  return { file, document, operations, byId: new Map(operations.map((o) => [o.operationId, o])) };
}

function mediaOf(document: Schema, node: Schema, pointer: string): MediaSpec[] {
  return Object.entries<Schema>(node.content ?? {}).map(([contentType, media]) => ({
    contentType,
    schemaPointer: media.schema ? `${pointer}/content/${escape(contentType)}/schema` : null,
    schema: media.schema ? deref(document, media.schema) : null,
  }));
}

/** The documented response for a status: exact, then `4XX`-style ranges, then `default`. */
export function documentedResponse(op: Operation, status: number): ResponseSpec | undefined {
  return op.responses.get(String(status)) ?? op.responses.get(`${String(status)[0]}XX`) ?? op.responses.get("default");
}
