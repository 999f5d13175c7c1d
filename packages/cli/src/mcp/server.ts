/**
 * The MCP server (low-level `Server`, so the tools' raw JSON Schemas from the spec are served
 * as they are). Arguments are validated against each tool's schema before any call: a bad
 * argument is an MCP `InvalidParams` error naming the field. API failures come back as tool
 * results with `isError: true` carrying the API's `code` and `message`.
 *
 * A tool that waits for a job reports progress (`notifications/progress`) when the call
 * carries a `progressToken`, and its finished media come back as content blocks (media.ts).
 * Jobs and assets are also resources: `aeriox://jobs/{id}` (the job as JSON) and
 * `aeriox://assets/{id}` (the bytes when small, else the metadata with a signed URL).
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import {
  CallToolRequestSchema, ErrorCode, ListResourcesRequestSchema, ListResourceTemplatesRequestSchema, ListToolsRequestSchema, McpError,
  ReadResourceRequestSchema, type CallToolResult, type ReadResourceResult,
} from "@modelcontextprotocol/sdk/types.js";
import { AjvJsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/ajv";
import type { JsonSchemaType, JsonSchemaValidator } from "@modelcontextprotocol/sdk/validation/types.js";
import { Aeriox, AerioxError, APIConnectionError, type GetPricingResponse, type Job } from "@aeriox/sdk";
import { MISSING_KEY_HELP } from "../profile.ts";
import { MissingApiKeyError } from "../commands/client/spec-ops.ts";
import { apiErrorOutcome, buildTools, type ToolContext, type ToolDef, type ToolOutcome } from "./tools.ts";
import { assetUri, INLINE_MEDIA_MAX_BYTES, jobMediaContent, jobUri, readAssetBytes } from "./media.ts";

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
  const server = new Server({ name: SERVER_NAME, version: opts.version ?? "0.1.0" }, { capabilities: { tools: {}, resources: {} } });
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

  server.setRequestHandler(CallToolRequestSchema, async (req, extra): Promise<CallToolResult> => {
    const { name } = req.params;
    const args = (req.params.arguments ?? {}) as Record<string, unknown>;
    const tool = await catalog.get(name);
    if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool ${name}`);
    const check = catalog.validator(tool)(args);
    if (!check.valid) {
      const detail = fieldErrors(check.errorMessage);
      throw new McpError(ErrorCode.InvalidParams, `Invalid arguments for ${name}: ${detail}`, { tool: name, errors: detail });
    }
    const ctx: ToolContext = { signal: extra.signal };
    const progressToken = req.params._meta?.progressToken;
    if (progressToken !== undefined) ctx.onJobProgress = jobProgressReporter((params) => extra.sendNotification({ method: "notifications/progress", params: { progressToken, ...params } }));
    let outcome: ToolOutcome;
    try {
      outcome = await tool.run(client, args, ctx);
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
    const media = tool.returnsJob && !outcome.isError && isJob(outcome.value) ? await jobMediaContent(client, opts.baseUrl, outcome.value) : [];
    return {
      content: [{ type: "text", text }, ...media],
      ...(outcome.isError && { isError: true }),
      ...(isRecord(outcome.value) && !outcome.isError ? { structuredContent: outcome.value } : {}),
    };
  });

  server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: [] }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
    resourceTemplates: [
      { uriTemplate: "aeriox://jobs/{id}", name: "job", title: "AERIOX job", description: "A job of your workspace (status, cost, output URLs and asset ids), as JSON.", mimeType: "application/json" },
      {
        uriTemplate: "aeriox://assets/{id}",
        name: "asset",
        title: "AERIOX asset",
        description: `An output file of your workspace: its bytes when at most ${INLINE_MEDIA_MAX_BYTES} bytes, otherwise its metadata with a signed download URL (JSON).`,
      },
    ],
  }));
  server.setRequestHandler(ReadResourceRequestSchema, async (req): Promise<ReadResourceResult> => {
    const { uri } = req.params;
    const match = /^aeriox:\/\/(jobs|assets)\/([0-9a-fA-F-]{36})$/.exec(uri);
    if (!match) throw new McpError(RESOURCE_NOT_FOUND, `Unknown resource ${uri.slice(0, 200)}: expected aeriox://jobs/{id} or aeriox://assets/{id}`, { uri });
    const [, kind, id] = match as unknown as [string, "jobs" | "assets", string];
    try {
      if (kind === "jobs") {
        const job = await client.jobs.get(id);
        return { contents: [{ uri: jobUri(id), mimeType: "application/json", text: JSON.stringify(job, null, 2) }] };
      }
      const asset = await client.assets.get(id);
      const bytes = await readAssetBytes(asset, opts.baseUrl);
      if (bytes) return { contents: [{ uri: assetUri(id), mimeType: asset.content_type, blob: Buffer.from(bytes).toString("base64") }] };
      return { contents: [{ uri: assetUri(id), mimeType: "application/json", text: JSON.stringify(asset, null, 2) }] };
    } catch (err) {
      if (err instanceof AerioxError && err.status === 404) throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`, { uri });
      if (err instanceof AerioxError) throw new McpError(ErrorCode.InternalError, `${err.code ?? `http_${err.status}`}: ${err.message}`, { uri, status: err.status });
      throw err;
    }
  });

  return server;
}

/** MCP's "resource not found" error code (spec, Resources: Error Handling). */
const RESOURCE_NOT_FOUND = -32002;

function isJob(v: unknown): v is Job {
  return isRecord(v) && typeof v.job_id === "string" && typeof v.status === "string";
}

/**
 * Progress notifications from job snapshots: `progress` goes 0..100 (the job's `progress_pct`,
 * or 0 queued, 1 running, 100 finished) and only ever increases, as MCP requires.
 */
export function jobProgressReporter(send: (p: { progress: number; total: number; message: string }) => Promise<void>): (job: Job) => void {
  let last = -1;
  return (job) => {
    const terminal = ["completed", "failed", "cancelled", "nsfw_blocked"].includes(job.status);
    const value = terminal ? 100 : Math.min(99, Math.max(job.status === "running" ? 1 : 0, Math.floor(job.progress_pct ?? 0)));
    if (value <= last) return;
    last = value;
    send({ progress: value, total: 100, message: `job ${job.job_id}: ${job.status}${job.progress_pct != null && !terminal ? ` ${job.progress_pct}%` : ""}` }).catch(() => {});
  };
}
