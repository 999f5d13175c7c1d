/**
 * The OpenAPI document the suite checks against: the copy shipped in this package (dist/,
 * copied at build), the repository's `spec/aeriox.openapi.yaml` when run from source, or `--spec`.
 * Indexed by operationId with every `$ref` followed to a JSON pointer, so the validator can
 * compile each schema in place.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { contractOf, deref, escapePointer, HTTP_METHODS, pointerGet, readDocumentFile, resolveAt, type HttpMethod } from "@aeriox/contract";

export { deref, HTTP_METHODS, pointerGet, resolveAt, type HttpMethod };

// Schemas are untyped JSON: reading them is index access all the way down.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = Record<string, any>;

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

const escape = escapePointer;

/** Reads the document through @aeriox/contract (the one reader of spec/) and adds the JSON pointers the validator compiles in place. */
export function loadSpec(file: string = defaultSpecPath()): LoadedSpec {
  const document = readDocumentFile(file) as Schema;
  const operations: Operation[] = contractOf(document, { strict: false }).operations.map((op) => {
    const item = op.pathItem;
    const raw = op.raw;
    const opPointer = op.pointer;
    const rawParams: string[] = [
      ...((item.parameters ?? []) as Schema[]).map((_, i) => `#/paths/${escape(op.path)}/parameters/${i}`),
      ...((raw.parameters ?? []) as Schema[]).map((_, i) => `${opPointer}/parameters/${i}`),
    ];
    const parameters: ParameterSpec[] = rawParams.map((pointer) => {
      const { node } = resolveAt(document, pointer);
      return { name: node.name, in: node.in, required: node.required === true, schema: deref(document, node.schema), allowReserved: node.allowReserved === true };
    });
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
    return {
      operationId: op.operationId,
      method: op.method,
      path: op.path,
      tags: op.tags,
      authenticated: op.authenticated,
      scope: op.scope,
      deprecated: op.deprecated,
      parameters,
      requestBody,
      responses,
    };
  });
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
