/**
 * MCP tools derived from the spec at runtime: one per operation (name = snake_case of its
 * operationId, description = summary + description (+ live prices for cost-bearing ones),
 * inputSchema = path/query params merged with the JSON body, `$ref`s resolved), minus the
 * operations the spec excludes (`x-aeriox-mcp: {exclude: reason}`), plus the composite tools `generate_image_and_wait`,
 * `wait_for_job` and `estimate_cost`.
 */
import { AerioxError, APITimeoutError, JobFailedError, type Aeriox, type GetPricingResponse, type Job } from "@aeriox/sdk";
import { toolName } from "@aeriox/contract";
import {
  AUTOMATIC_HEADERS, bodyProperties, decodeResponse, resolveRefs, sendOperation, specDocument, specOperations,
  type JsonSchema, type OperationInfo,
} from "../commands/client/spec-ops.ts";

/** Operations deliberately not offered as tools, and why: the spec's `x-aeriox-mcp: {exclude: reason}` (via @aeriox/contract). */
export function mcpExclusions(operations: OperationInfo[] = specOperations()): Record<string, string> {
  return Object.fromEntries(operations.flatMap((op) => (op.mcpExcluded ? [[op.operationId, op.mcpExcluded]] : [])));
}

export interface ToolDef {
  name: string;
  description: string;
  inputSchema: JsonSchema & { type: "object" };
  annotations?: { readOnlyHint?: boolean; destructiveHint?: boolean; idempotentHint?: boolean; openWorldHint?: boolean };
  /** The spec operation it calls (absent for composite tools). */
  operationId?: string;
  /** A successful result is a job: its finished media are attached as MCP content (media.ts). */
  returnsJob?: boolean;
  run(client: Aeriox, args: Record<string, unknown>, ctx?: ToolContext): Promise<ToolOutcome>;
}

/** What a tool call may use of the MCP request: progress reporting (when the client sent a progressToken) and cancellation. */
export interface ToolContext {
  /** Called with each new snapshot of a job the tool is waiting for. */
  onJobProgress?: (job: Job) => void;
  signal?: AbortSignal;
}

export interface ToolOutcome {
  value: unknown;
  isError?: boolean;
}

export { toolName };

// ---------- prices ----------

/** The price-list rows (`operation_id` prefixes) an operation's tool quotes: its `x-aeriox-priced`. */
function pricedRows(operationId: string): string[] {
  return specOperations().find((o) => o.operationId === operationId)?.priced ?? [];
}

function price(usd: number): string {
  return `$${Number(usd.toPrecision(6))}`;
}

/** The price sentence of the tool for `operationId` (a composite tool quotes the operation it calls). */
export function priceText(operationId: string, pricing: GetPricingResponse | undefined): string {
  const prefixes = pricedRows(operationId);
  if (!prefixes.length) return "";
  if (!pricing) return "\n\nCosts money (reserved from the wallet before the job is queued, refunded if it fails); the price list was unavailable at start-up, so call estimate_cost first.";
  const rows = pricing.operations.filter((o) => prefixes.some((p) => o.operation_id.startsWith(p)));
  if (!rows.length) return "";
  const list = rows.map((o) => `${price(o.price_usd)} per ${o.unit.replace(/_/g, " ")} with ${o.model}`).join("; ");
  return `\n\nCosts ${list}. The cost is reserved from the wallet before the job is queued and refunded if it fails; estimate_cost gives an exact quote.`;
}

// ---------- schemas ----------

function inputSchemaFor(op: OperationInfo): ToolDef["inputSchema"] {
  const properties: Record<string, JsonSchema> = {};
  const required: string[] = [];
  for (const p of op.params) {
    if (p.in === "header" && AUTOMATIC_HEADERS.has(p.name.toLowerCase())) continue;
    if (p.in === "cookie") continue;
    properties[p.name] = { ...p.schema, ...(p.description && { description: p.description }) };
    if (p.required) required.push(p.name);
  }
  const schema: ToolDef["inputSchema"] = { type: "object", properties };
  const body = op.body?.schema;
  if (body) {
    Object.assign(properties, bodyProperties(body));
    if (op.body!.required) required.push(...((body.required as string[] | undefined) ?? []));
    for (const key of ["oneOf", "anyOf"] as const) if (Array.isArray(body[key])) schema[key] = body[key];
    if (body.additionalProperties === false) schema.additionalProperties = false;
  } else {
    schema.additionalProperties = false;
  }
  if (required.length) schema.required = [...new Set(required)];
  return schema;
}

function componentSchema(name: string): JsonSchema {
  return resolveRefs({ $ref: `#/components/schemas/${name}` }, specDocument()) as JsonSchema;
}

// ---------- tools ----------

function operationTool(op: OperationInfo, pricing: GetPricingResponse | undefined): ToolDef {
  const text = [op.summary, op.description].filter(Boolean).join("\n\n");
  const scope = op.scope ? `; needs the ${op.scope} scope` : "";
  return {
    name: toolName(op.operationId),
    description: `${text}${priceText(op.operationId, pricing)}\n\n(${op.method.toUpperCase()} ${op.path}${scope})`,
    inputSchema: inputSchemaFor(op),
    annotations: { readOnlyHint: op.method === "get", destructiveHint: op.method === "delete", idempotentHint: op.method !== "post", openWorldHint: true },
    operationId: op.operationId,
    async run(client, args) {
      const res = await sendOperation(client, op, args);
      const decoded = await decodeResponse(res);
      if (decoded.kind === "binary") return { value: { content_type: res.headers.get("content-type"), size_bytes: (decoded.value as Uint8Array).length } };
      return { value: decoded.kind === "empty" ? { ok: true, status: res.status } : decoded.value };
    },
  };
}

const TIMEOUT_S: JsonSchema = { type: "integer", minimum: 1, maximum: 900, default: 120, description: "How long to wait, in seconds (default 120)." };

function compositeTools(pricing: GetPricingResponse | undefined): ToolDef[] {
  const imageRequest = componentSchema("GenerateImageRequest");
  return [
    {
      name: "generate_image_and_wait",
      description:
        "Generate an image and wait until it is ready; returns the finished job with `output_urls` (signed download URLs) and `asset_ids` (usable with compose and prisms). Use model `local/image` for a free-of-providers test image." +
        priceText("generateImage", pricing),
      inputSchema: {
        ...imageRequest,
        type: "object",
        properties: { ...(imageRequest.properties as Record<string, JsonSchema>), timeout_s: TIMEOUT_S },
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
      returnsJob: true,
      async run(client, args, ctx) {
        const { timeout_s, ...body } = args as { timeout_s?: number } & Record<string, unknown>;
        const job = await client.images.generate(body as Parameters<Aeriox["images"]["generate"]>[0]);
        ctx?.onJobProgress?.(job);
        return finishedJob(client, job, timeout_s, true, ctx);
      },
    },
    {
      name: "wait_for_job",
      description:
        "Wait for a job (from generate_image, generate_video, generate_audio, compose_video, apply_prism, create_character) to finish and return it with its output URLs. When the wait times out the job keeps running and its current state is returned.",
      inputSchema: {
        type: "object",
        properties: { job_id: { type: "string", format: "uuid", description: "The job id." }, timeout_s: TIMEOUT_S },
        required: ["job_id"],
        additionalProperties: false,
      },
      annotations: { readOnlyHint: true, openWorldHint: true },
      returnsJob: true,
      async run(client, args, ctx) {
        const id = String(args.job_id);
        const job = await client.jobs.get(id);
        ctx?.onJobProgress?.(job);
        return finishedJob(client, job, args.timeout_s as number | undefined, false, ctx);
      },
    },
    {
      name: "estimate_cost",
      description:
        "Quote the USD cost of a generation before spending, and whether it would succeed now (balance, spend cap, provider health). Also lists the catalog prices of the model.",
      // The request of POST /v1/estimate as the spec states it (model, prompt, duration, image_url, …).
      inputSchema: inputSchemaFor(specOperations().find((op) => op.operationId === "estimateGeneration")!),
      annotations: { readOnlyHint: true, openWorldHint: true },
      async run(client, args) {
        const estimate = await client.estimate(args as Parameters<Aeriox["estimate"]>[0]);
        const prices = pricing?.operations.filter((o) => o.model === args.model).map((o) => ({ operation_id: o.operation_id, unit: o.unit, price_usd: o.price_usd }));
        return { value: { ...estimate, ...(prices && { catalog_prices: prices }) } };
      },
    },
  ];
}

async function finishedJob(client: Aeriox, job: Job, timeoutS: number | undefined, cancelOnTimeout: boolean, ctx?: ToolContext): Promise<ToolOutcome> {
  try {
    const done = ["completed", "failed", "cancelled", "nsfw_blocked"].includes(job.status)
      ? job
      : await client.jobs.wait(job.job_id, {
          deadline: (timeoutS ?? 120) * 1000,
          cancelOnAbort: cancelOnTimeout,
          ...(ctx?.onJobProgress && { onProgress: ctx.onJobProgress }),
          ...(ctx?.signal && { signal: ctx.signal }),
        });
    if (done.status !== "completed") throw new JobFailedError(done);
    return { value: done };
  } catch (err) {
    if (err instanceof JobFailedError) {
      const e = err.job.error?.error;
      return { isError: true, value: { error: { code: e?.code ?? err.job.status, message: err.message, ...(e?.details && { details: e.details }) }, job: err.job } };
    }
    if (err instanceof APITimeoutError && err.code === "deadline_exceeded") {
      const current = await client.jobs.get(job.job_id).catch(() => job);
      return {
        isError: cancelOnTimeout,
        value: cancelOnTimeout
          ? { error: { code: "deadline_exceeded", message: `job ${job.job_id} did not finish in time and was cancelled (refunded)` }, job: current }
          : { note: `still ${current.status} after ${timeoutS ?? 120} s; call wait_for_job again`, ...current },
      };
    }
    throw err;
  }
}

/** Every tool, in spec order, then the composite tools. */
export function buildTools(pricing?: GetPricingResponse): ToolDef[] {
  const tools = specOperations()
    .filter((op) => !op.mcpExcluded)
    .map((op) => operationTool(op, pricing));
  return [...tools, ...compositeTools(pricing)];
}

/** An API failure as a tool result the model can read: `code: message` plus details and request id. */
export function apiErrorOutcome(err: AerioxError): ToolOutcome {
  return {
    isError: true,
    value: {
      error: {
        code: err.code ?? (err.status ? `http_${err.status}` : "error"),
        message: err.message,
        ...(err.status && { status: err.status }),
        ...(err.details && { details: err.details }),
        ...(err.requestId && { request_id: err.requestId }),
      },
    },
  };
}
