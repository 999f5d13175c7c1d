/**
 * Sends one request of an operation, checks the response (check.ts) and records the exchange
 * for the coverage matrix and the reports.
 */
import { ResponseChecker, type CheckName, type Violation } from "./check.ts";
import type { LoadedSpec, Operation } from "./spec.ts";

export type ExchangeKind = "flow" | "negative" | "fuzz";

export interface Exchange {
  operationId: string;
  kind: ExchangeKind;
  label: string;
  method: string;
  url: string;
  status: number | null;
  requestId: string | null;
  ms: number;
  ran: CheckName[];
  violations: Violation[];
}

export interface CallOptions {
  label: string;
  kind?: ExchangeKind;
  pathParams?: Record<string, string>;
  /** Already encoded path (overrides pathParams), for bad path segments. */
  rawPath?: string;
  query?: Record<string, string | number | boolean | undefined> | string;
  json?: unknown;
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  /** The API key to send (Bearer), null for none. Defaults to the suite's key. */
  key?: string | null;
  method?: string;
  /** Statuses this request must get; "4xx" means any documented 4xx. */
  expect?: Array<number | "4xx" | "2xx">;
  /** Stop reading a streamed body after this many ms (event streams). */
  streamMs?: number;
}

export interface CallResult {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
  ok: boolean;
}

export class Client {
  readonly exchanges: Exchange[] = [];
  readonly checker: ResponseChecker;
  /** Called with every 2xx JSON body, to remove what requests created. */
  onCreated: ((operationId: string, json: unknown) => void) | undefined;

  constructor(
    readonly spec: LoadedSpec,
    readonly baseUrl: string,
    readonly defaultKey: string,
    private readonly timeoutMs = 30_000,
    private readonly maxRetryWaitMs = 65_000,
    private readonly maxAttempts = 6,
  ) {
    this.checker = new ResponseChecker(spec);
  }

  op(operationId: string): Operation {
    const op = this.spec.byId.get(operationId);
    if (!op) throw new Error(`operation ${operationId} is not in the spec`);
    return op;
  }

  urlFor(op: Operation, o: Pick<CallOptions, "pathParams" | "rawPath" | "query">): string {
    const path = o.rawPath ?? op.path.replace(/\{([^}]+)\}/g, (_, name: string) => encodeURIComponent(o.pathParams?.[name] ?? ""));
    let query = "";
    if (typeof o.query === "string") query = o.query;
    else if (o.query) {
      const entries = Object.entries(o.query).filter(([, v]) => v !== undefined);
      if (entries.length) query = "?" + entries.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`).join("&");
    }
    return this.baseUrl.replace(/\/$/, "") + path + query;
  }

  async call(operationId: string, o: CallOptions): Promise<CallResult | null> {
    const op = this.op(operationId);
    const url = this.urlFor(op, o);
    const headers: Record<string, string> = { ...o.headers };
    const key = o.key === undefined ? this.defaultKey : o.key;
    if (key !== null && !Object.keys(headers).some((h) => h.toLowerCase() === "authorization" || h.toLowerCase() === "x-api-key")) headers.authorization = `Bearer ${key}`;
    let body: string | Uint8Array | undefined = o.body;
    if (o.json !== undefined) {
      body = JSON.stringify(o.json);
      headers["content-type"] ??= "application/json";
    }
    if (o.contentType !== undefined) headers["content-type"] = o.contentType;
    const method = (o.method ?? op.method).toUpperCase();
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const exchange: Exchange = { operationId, kind: o.kind ?? "flow", label: attempt > 1 ? `${o.label} (retry ${attempt - 1} after 429)` : o.label, method, url, status: null, requestId: null, ms: 0, ran: [], violations: [] };
      this.exchanges.push(exchange);
      let res: Response;
      let text = "";
      try {
        res = await fetch(url, { method, headers, ...(body !== undefined ? { body: body as BodyInit } : {}), redirect: "manual", signal: AbortSignal.timeout(this.timeoutMs) });
        if ((res.headers.get("content-type") ?? "").includes("text/event-stream")) text = await readStream(res, o.streamMs ?? 10_000);
        else text = await res.text();
      } catch (err) {
        exchange.ms = Date.now() - started;
        const reason = (err as Error).name === "TimeoutError" ? `no response within ${this.timeoutMs} ms` : `transport error: ${(err as Error).message}`;
        exchange.violations.push({ check: "transport", message: reason });
        return null;
      }
      exchange.ms = Date.now() - started;
      exchange.status = res.status;
      exchange.requestId = res.headers.get("x-request-id");
      const result = this.checker.check(op, { status: res.status, headers: res.headers, text });
      exchange.ran = [...result.ran];
      exchange.violations.push(...result.violations);
      // Rate limited: the 429 is checked like any response, then the request is sent again when allowed.
      const wait = res.status === 429 && attempt < this.maxAttempts && !o.expect?.includes(429) ? retryAfterMs(res.headers, result.json) : null;
      if (wait !== null && wait <= this.maxRetryWaitMs) {
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (res.status >= 200 && res.status < 300 && result.json !== undefined) this.onCreated?.(operationId, result.json);
      if (o.expect && !o.expect.some((e) => matchesExpectation(e, res.status, op))) {
        exchange.violations.push({ check: "expectation", message: `expected ${o.expect.join(" or ")}, got ${res.status}: ${text.slice(0, 200)}` });
      }
      return { status: res.status, headers: res.headers, text, json: result.json, ok: exchange.violations.length === 0 };
    }
  }

  /** A violation found by a flow itself (e.g. a revoked key still works). */
  note(operationId: string, label: string, message: string, check: Violation["check"] = "expectation"): void {
    this.exchanges.push({ operationId, kind: "flow", label, method: "", url: "", status: null, requestId: null, ms: 0, ran: [], violations: [{ check, message }] });
  }
}

function matchesExpectation(e: number | "4xx" | "2xx", status: number, op: Operation): boolean {
  if (e === "4xx") return status >= 400 && status < 500 && op.responses.has(String(status));
  if (e === "2xx") return status >= 200 && status < 300;
  return e === status;
}

/** How long a 429 asks to wait: `retry-after` (seconds), else `details.retry_after_s`, else 1 s. */
function retryAfterMs(headers: Headers, json: unknown): number {
  const header = Number(headers.get("retry-after"));
  if (Number.isFinite(header) && header >= 0 && headers.get("retry-after") !== null) return Math.ceil(header * 1000) + 50;
  const detail = (json as { error?: { details?: { retry_after_s?: unknown } } } | undefined)?.error?.details?.retry_after_s;
  return typeof detail === "number" && detail >= 0 ? Math.ceil(detail * 1000) + 50 : 1000;
}

async function readStream(res: Response, ms: number): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const decoder = new TextDecoder();
  let text = "";
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const chunk = await Promise.race([reader.read(), new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), left)))]);
    clearTimeout(timer);
    if (chunk === null || chunk.done) break;
    text += decoder.decode(chunk.value, { stream: true });
  }
  await reader.cancel().catch(() => undefined);
  return text;
}
