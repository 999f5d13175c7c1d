/**
 * The MCP server (low-level `Server`, so the tools' raw JSON Schemas from the spec are served
 * as they are). Arguments are validated against each tool's schema before any call: a bad
 * argument is an MCP `InvalidParams` error naming the field. API failures come back as tool
 * results with `isError: true` carrying the API's `code` and `message`.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaType, JsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { Aeriox, AerioxError, APIConnectionError, type GetPricingResponse } from "@aeriox/sdk";
import { MISSING_KEY_HELP } from "../profile.ts";
import { MissingApiKeyError } from "../commands/client/spec-ops.ts";
import { apiErrorOutcome, buildTools, type ToolDef, type ToolOutcome } from "./tools.ts";

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

export const SERVER_NAME = "aeriox";

/** `data/prompt must be string` → `prompt: must be string`; `data must have required property 'x'` → `x: is required`. */
export function fieldErrors(message: string): string {
  return message
    .split(", ")
    .map((m) => {
      const required = /^data(?:\/(\S+))? must have required property '([^']+)'$/.exec(m);
      if (required) return `${required[1] ? `${required[1].replace(/\//g, ".")}.` : ""}${required[2]}: is required`;
      const additional = /^data(?:\/(\S+))? must NOT have additional properties$/.exec(m);
      if (additional) return `${additional[1] ? additional[1].replace(/\//g, ".") + ": " : ""}unknown argument (not in the tool's schema)`;
      const field = /^data\/(\S+) (.*)$/.exec(m);
      if (field) return `${field[1]!.replace(/\//g, ".")}: ${field[2]}`;
      return m.replace(/^data /, "arguments ");
    })
    .join("; ");
}

export interface McpServerOptions {
  apiKey: string | undefined;
  baseUrl: string;
  version?: string;
  /** Shared tool catalog (the HTTP transport builds one server per request). */
  catalog?: ToolCatalog;
}

/** The tools with their compiled validators; prices come from the live catalog (GET /v1/pricing, public) once it answers. */
export class ToolCatalog {
  private tools: Map<string, ToolDef> | undefined;
  private priced = false;
  private readonly ajv = new AjvJsonSchemaValidator();
  private readonly validators = new Map<string, JsonSchemaValidator<unknown>>();

  constructor(private readonly baseUrl: string) {}

  async all(): Promise<Map<string, ToolDef>> {
    if (this.tools && this.priced) return this.tools;
    let pricing: GetPricingResponse | undefined;
    try {
      pricing = await new Aeriox({ baseUrl: this.baseUrl, timeout: 3000, maxRetries: 0 }).pricing.get();
      this.priced = true;
    } catch {
      pricing = undefined; // tools work without prices; the next listing tries again
    }
    this.tools = new Map(buildTools(pricing).map((t) => [t.name, t]));
    return this.tools;
  }

  async get(name: string): Promise<ToolDef | undefined> {
    return (this.tools ?? (await this.all())).get(name);
  }

  validator(tool: ToolDef): JsonSchemaValidator<unknown> {
    let validate = this.validators.get(tool.name);
    if (!validate) {
      validate = this.ajv.getValidator(tool.inputSchema as JsonSchemaType);
      this.validators.set(tool.name, validate);
    }
    return validate;
  }
}

export function createMcpServer(opts: McpServerOptions): Server {
  const client = new Aeriox({ apiKey: opts.apiKey, baseUrl: opts.baseUrl });
  const server = new Server({ name: SERVER_NAME, version: opts.version ?? "0.1.0" }, { capabilities: { tools: {} } });
  const catalog = opts.catalog ?? new ToolCatalog(opts.baseUrl);
  const currentTools = () => catalog.all();

  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: [...(await currentTools()).values()].map((t) => ({
      name: t.name,
      description: t.description,
      inputSchema: t.inputSchema as { type: "object"; properties?: Record<string, object> },
      ...(t.annotations && { annotations: t.annotations }),
    })),
  }));

  server.setRequestHandler(CallToolRequestSchema, async (req): Promise<CallToolResult> => {
    const { name } = req.params;
    const args = (req.params.arguments ?? {}) as Record<string, unknown>;
    const tool = await catalog.get(name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${name}`);
    const check = catalog.validator(tool)(args);
    if (!check.valid) {
      const detail = fieldErrors(check.errorMessage);
      throw new McpError(ErrorCode.InvalidParams, `Invalid arguments for ${name}: ${detail}`, { tool: name, errors: detail });
    }
    let outcome: ToolOutcome;
    try {
      outcome = await tool.run(client, args);
    } catch (err) {
      if (err instanceof MissingApiKeyError || (err instanceof AerioxError && err.code === "missing_api_key")) {
        outcome = { isError: true, value: { error: { code: "missing_api_key", message: MISSING_KEY_HELP } } };
      } else if (err instanceof APIConnectionError) {
        outcome = { isError: true, value: { error: { code: "connection_error", message: `cannot reach the AERIOX API at ${opts.baseUrl}: ${err.message}` } } };
      } else if (err instanceof AerioxError) {
        outcome = apiErrorOutcome(err);
      } else {
        outcome = { isError: true, value: { error: { code: "internal_error", message: (err as Error)?.message ?? String(err) } } };
      }
    }
    const text = JSON.stringify(outcome.value, null, 2);
    return {
      content: [{ type: "text", text }],
      ...(outcome.isError && { isError: true }),
      ...(isRecord(outcome.value) && !outcome.isError ? { structuredContent: outcome.value } : {}),
    };
  });

  return server;
}
