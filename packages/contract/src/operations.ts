/**
 * The spec's operations as data: identity (operationId, method, path, tag), security and scope,
 * deprecation, the per-operation `x-aeriox-*` metadata every client derives from, and the request
 * (parameters, body) and responses with every `$ref` resolved, computed on first use.
 *
 * Vendor extensions (on the operation; `x-aeriox-cli` and `x-aeriox-mcp` may also sit on the
 * operation's tag as a default for all its operations):
 * - `x-aeriox-scope`: read | generate | admin (authenticated operations).
 * - `x-aeriox-sdk`: the SDK method path (`images.generate`), or `{exclude: reason}`.
 * - `x-aeriox-cli`: the CLI command (`cards list`), or `{api-only: reason}` (reachable only
 *   through `aeriox api <operationId>`).
 * - `x-aeriox-mcp`: `{exclude: reason}` when the operation is not an MCP tool (default: it is).
 * - `x-aeriox-priced`: price-list rows (`operation_id` prefixes) a tool description quotes.
 * - `x-aeriox-alias-of`: for a deprecated legacy alias, the canonical operation(s). The alias keeps
 *   its SDK method but gets no CLI command and no MCP tool; the reasons are derived here, once.
 */
import type { Schema } from "./document.ts";
import { escapePointer, resolveAt, resolveRefs } from "./refs.ts";

export type Scope = "read" | "generate" | "admin";
export const HTTP_METHODS = ["get", "post", "put", "patch", "delete"] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];
export type JsonSchema = Record<string, unknown>;

export interface ParamInfo {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required: boolean;
  description: string | undefined;
  /** `$ref`s resolved. */
  schema: JsonSchema;
  allowReserved: boolean;
}

export interface BodyInfo {
  contentType: string;
  required: boolean;
  /** The first media type's schema, `$ref`s resolved. */
  schema: JsonSchema;
}

export interface ResponseInfo {
  status: string;
  description: string;
  /** Media type → schema with `$ref`s resolved (null when the media type has none). */
  content: Record<string, JsonSchema | null>;
}

export type SdkBinding = { method: string } | { exclude: string };
export type CliBinding = { command: string } | { apiOnly: string };

export interface ContractOperation {
  operationId: string;
  method: HttpMethod;
  path: string;
  /** JSON pointer of the operation object (`#/paths/~1v1~1jobs/get`). */
  pointer: string;
  tag: string;
  tags: string[];
  summary: string;
  description: string;
  /** false when the operation declares `security: []`. */
  authenticated: boolean;
  scope: Scope | null;
  deprecated: boolean;
  aliasOf: string[];
  sdk: SdkBinding;
  cli: CliBinding;
  /** Why it is not an MCP tool; null when it is one. */
  mcpExcluded: string | null;
  priced: string[];
  /** The operation and path item objects as written (with `$ref`s). */
  raw: Schema;
  pathItem: Schema;
  readonly params: ParamInfo[];
  readonly body: BodyInfo | undefined;
  readonly responses: ResponseInfo[];
}

/** MCP tool name of an operation: snake_case of its operationId. */
export function toolName(operationId: string): string {
  return operationId
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

export class ContractError extends Error {}

function reasonOf(value: unknown, key: string, where: string): string {
  const reason = (value as Schema | null)?.[key];
  if (typeof reason !== "string" || reason.trim().length < 15) throw new ContractError(`${where}: expected a string or {${key}: reason} (a reason of 15+ characters)`);
  return reason.trim();
}

function lazy<T>(compute: () => T): { get(): T } {
  let value: { v: T } | undefined;
  return {
    get() {
      value ??= { v: compute() };
      return value.v;
    },
  };
}

export interface ReadOptions {
  /**
   * Require `x-aeriox-sdk` and `x-aeriox-cli` on every operation (default). Tools that read any
   * OpenAPI document (the contract tests' `--spec`) pass false; missing bindings are then undeclared.
   */
  strict?: boolean;
}

const UNDECLARED = "not declared in this document (no x-aeriox-* metadata)";

/** Every operation of `document`, in spec order, with its metadata checked. */
export function operationsOf(document: Schema, { strict = true }: ReadOptions = {}): ContractOperation[] {
  const globalSecurity: unknown[] = document.security ?? [];
  const tagDefaults = new Map<string, Schema>(((document.tags ?? []) as Schema[]).map((t) => [t.name as string, t]));
  const operations: ContractOperation[] = [];
  for (const [path, item] of Object.entries<Schema>(document.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const raw = item[method] as Schema | undefined;
      if (!raw) continue;
      const operationId = String(raw.operationId);
      const where = `${operationId} (${method.toUpperCase()} ${path})`;
      const pointer = `#/paths/${escapePointer(path)}/${method}`;
      const tags: string[] = raw.tags ?? [];
      const tag = tags[0] ?? "default";
      const tagMeta = tagDefaults.get(tag) ?? {};
      const security: unknown[] = raw.security ?? globalSecurity;

      const sdkRaw = raw["x-aeriox-sdk"];
      if (sdkRaw === undefined && strict) throw new ContractError(`${where}: no x-aeriox-sdk (the SDK method path, or {exclude: reason})`);
      const sdk: SdkBinding =
        typeof sdkRaw === "string" ? { method: sdkRaw } : sdkRaw === undefined ? { exclude: UNDECLARED } : { exclude: reasonOf(sdkRaw, "exclude", `${where} x-aeriox-sdk`) };

      const aliasOf: string[] = raw["x-aeriox-alias-of"] ?? [];
      if (aliasOf.length && raw.deprecated !== true) throw new ContractError(`${where}: x-aeriox-alias-of is for deprecated operations`);
      const cliRaw = raw["x-aeriox-cli"] ?? (aliasOf.length ? undefined : tagMeta["x-aeriox-cli"]);
      if (cliRaw === undefined && !aliasOf.length && strict) throw new ContractError(`${where}: no x-aeriox-cli (the CLI command, or {api-only: reason})`);
      const cli: CliBinding =
        typeof cliRaw === "string" ? { command: cliRaw } : { apiOnly: cliRaw === undefined ? UNDECLARED : reasonOf(cliRaw, "api-only", `${where} x-aeriox-cli`) };
      const mcpRaw = raw["x-aeriox-mcp"] ?? (aliasOf.length ? undefined : tagMeta["x-aeriox-mcp"]);
      const mcpExcluded = mcpRaw === undefined ? null : reasonOf(mcpRaw, "exclude", `${where} x-aeriox-mcp`);

      const params = lazy((): ParamInfo[] =>
        [...((item.parameters ?? []) as Schema[]), ...((raw.parameters ?? []) as Schema[])].map((p) => {
          const r = resolveRefs(p, document) as Schema;
          return {
            name: r.name,
            in: r.in,
            required: r.required === true || r.in === "path",
            description: r.description,
            schema: (r.schema as JsonSchema) ?? {},
            allowReserved: r.allowReserved === true,
          };
        }),
      );
      const body = lazy((): BodyInfo | undefined => {
        if (!raw.requestBody) return undefined;
        const rb = resolveRefs(resolveAt(document, `${pointer}/requestBody`).node, document) as Schema;
        const [contentType, media] = Object.entries<Schema>(rb.content ?? {})[0] ?? [];
        return contentType ? { contentType, required: rb.required === true, schema: (media?.schema as JsonSchema) ?? {} } : undefined;
      });
      const responses = lazy((): ResponseInfo[] =>
        Object.keys(raw.responses ?? {}).map((status) => {
          const node = resolveAt(document, `${pointer}/responses/${escapePointer(status)}`).node;
          const content: Record<string, JsonSchema | null> = {};
          for (const [type, media] of Object.entries<Schema>(node.content ?? {})) content[type] = media.schema ? (resolveRefs(media.schema, document) as JsonSchema) : null;
          return { status, description: String(node.description ?? ""), content };
        }),
      );

      operations.push({
        operationId,
        method,
        path,
        pointer,
        tag,
        tags,
        summary: String(raw.summary ?? ""),
        description: String(raw.description ?? "").trim(),
        authenticated: security.length > 0,
        scope: (raw["x-aeriox-scope"] as Scope | undefined) ?? null,
        deprecated: raw.deprecated === true,
        aliasOf,
        sdk,
        cli,
        mcpExcluded,
        priced: raw["x-aeriox-priced"] ?? [],
        raw,
        pathItem: item,
        get params() {
          return params.get();
        },
        get body() {
          return body.get();
        },
        get responses() {
          return responses.get();
        },
      });
    }
  }
  deriveAliasReasons(operations);
  return operations;
}

/** A deprecated alias is offered by the CLI and MCP only as its canonical operation(s): the one place these reasons are written. */
function deriveAliasReasons(operations: ContractOperation[]): void {
  const byId = new Map(operations.map((o) => [o.operationId, o]));
  for (const op of operations) {
    if (!op.aliasOf.length) continue;
    const targets = op.aliasOf.map((id) => {
      const target = byId.get(id);
      if (!target) throw new ContractError(`${op.operationId}: x-aeriox-alias-of names ${id}, which the spec does not have`);
      return target;
    });
    const commands = targets.map((t) => ("command" in t.cli ? `aeriox ${t.cli.command}` : `aeriox api ${t.operationId}`));
    const tools = targets.map((t) => toolName(t.operationId));
    if (!op.raw["x-aeriox-cli"]) op.cli = { apiOnly: `deprecated legacy alias of ${op.aliasOf.join(" / ")}; use \`${commands.join("` / `")}\`` };
    if (!op.raw["x-aeriox-mcp"]) op.mcpExcluded = `deprecated alias of ${op.aliasOf.join(" / ")}; only the canonical tool ${tools.join(" / ")} is offered so agents do not learn the legacy API`;
  }
}
