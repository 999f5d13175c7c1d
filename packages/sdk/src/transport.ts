// The one place where bytes leave the SDK. `request` (and `stream`, for text/event-stream) call a
// generated hey-api function of sdk.gen.ts, typed by it: the call's path, query, body and headers
// are the function's own parameter types and the result is its 2xx response type, so a wrong key
// fails `tsc`. The generated code builds each Request from the spec (paths, query, body, auth) and
// hands it to `fetchFor(...)`, which adds what the spec cannot express: timeouts, retries with
// backoff, idempotency keys and typed errors.
import type { Client } from "./generated/client/index.ts";
import type { StreamEvent } from "./generated/core/serverSentEvents.gen.ts";
import { AerioxError, APIConnectionError, APITimeoutError, errorFromResponse } from "./errors.ts";
import { abortReason, sleep, uuid } from "./env.ts";
import { StreamIdleError, watchBody } from "./sse.ts";

/** Options accepted by every SDK method as its last argument. */
export interface RequestOptions {
  /** Per-attempt timeout in ms (default: the client's `timeout`). */
  timeout?: number;
  /** Retries after the first attempt (default: the client's `maxRetries`). */
  maxRetries?: number;
  /**
   * Idempotency-Key for POSTs; one is generated when absent and reused across retries.
   * `false` sends none (OAuth endpoints: keeps browser token requests free of a CORS preflight).
   */
  idempotencyKey?: string | false;
  signal?: AbortSignal;
  headers?: Record<string, string>;
  /** Internal: `manual` returns 3xx responses as they are (OAuth consent). */
  redirect?: RequestRedirect;
}

/** Options of `Transport.stream`: a request's, plus the idle watchdog. */
export interface StreamOptions extends RequestOptions {
  /**
   * Give up on a connection (StreamIdleError) after this many ms without any bytes, not even a
   * `: keep-alive` comment: catches half-open connections. A reconnect follows while `maxRetries` allow.
   */
  idleTimeout?: number | undefined;
}

export interface TransportConfig {
  fetch: typeof fetch | undefined;
  timeout: number;
  maxRetries: number;
  /** The generated client (base URL, default headers, auth) the operations run on. */
  http: Client;
}

// The typed seam. `F` is a function of sdk.gen.ts, e.g. `typeof api.getJob`; everything is read off
// its signature, so the spec (through the generator) is the only source of the types.
type OptionsOf<F> = F extends (options: infer O) => unknown ? NonNullable<O> : never;
type CallField = "path" | "query" | "body" | "headers";

/** A generated request function: resolves to `{ data, … }` (sdk.gen.ts, any operation but an event stream). */
export type RequestOperation = (options: never) => Promise<{ data: unknown }>;
/** A generated text/event-stream function (`client.sse.get`): resolves to `{ stream }`. */
export type StreamOperation = (options: never) => Promise<{ stream: AsyncGenerator<unknown, unknown, unknown> }>;

/** What one call of `F` takes: the `path`, `query`, `body` and `headers` of its generated options. */
export type OperationInput<F extends RequestOperation | StreamOperation> = Pick<OptionsOf<F>, Extract<keyof OptionsOf<F>, CallField>>;

/** The 2xx body `F` resolves to (its error variants, `{ data: undefined; error }`, taken out). */
export type OperationResult<F extends RequestOperation> =
  Exclude<Awaited<ReturnType<F>>, { data: undefined }> extends { data: infer D } ? D : never;

/** What the sender adds to every generated call. */
interface BoundOptions {
  client: Client;
  throwOnError: true;
  fetch: typeof fetch;
  headers: Record<string, unknown>;
}

/** The hey-api SSE options `stream` sets (core/serverSentEvents.gen.ts; client-fetch passes them all through). */
interface BoundStreamOptions extends Omit<BoundOptions, "throwOnError"> {
  signal: AbortSignal;
  sseMaxRetryAttempts: number;
  sseSleepFn: (ms: number) => Promise<void>;
  onSseEvent: (event: StreamEvent) => void;
  onSseError: (error: unknown) => void;
}

/** An event as `Transport.stream` yields it: the generated parser's, with `data` parsed when it is JSON. */
export interface StreamedEvent {
  event: string;
  data: unknown;
  id?: string;
}

/** The call's own headers (`input.headers`: a record, as the generated types have them). */
const headersOf = (input: object): Record<string, unknown> => ({ ...(input as { headers?: object }).headers });

/** Failures worth a reconnect: the connection, not an answer (401, 404, …) or a bug. */
function isRetryableStreamError(err: unknown): boolean {
  if (err instanceof APIConnectionError || err instanceof StreamIdleError) return true;
  return err instanceof AerioxError && err.status !== undefined && isRetryable(err.status, err.code);
}

/** Aborts `ctl` with `signal`'s reason when `signal` aborts (at once if it has); returns the unsubscribe. */
export function abortWith(ctl: AbortController, signal: AbortSignal | undefined): () => void {
  const onAbort = () => ctl.abort(abortReason(signal!));
  if (signal?.aborted) onAbort();
  signal?.addEventListener("abort", onAbort, { once: true });
  return () => signal?.removeEventListener("abort", onAbort);
}

const RETRYABLE_CONFLICTS = new Set(["lock_conflict", "idempotency_in_progress"]);

/** Which failures are worth repeating: transient server states only, never a caller's 4xx mistake. */
export function isRetryable(status: number, code: string | undefined): boolean {
  // 501 Not Implemented and 505 are permanent answers, not transient failures.
  if (status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505)) return true;
  return status === 409 && code !== undefined && RETRYABLE_CONFLICTS.has(code);
}

/** Delay before retry number `attempt` (0-based): the server's hint when sane, else 0.5 s·2ⁿ (max 8 s) with jitter. */
export function retryDelayMs(attempt: number, headers?: Headers): number {
  const ms = Number(headers?.get("retry-after-ms"));
  if (headers?.get("retry-after-ms") && ms >= 0 && ms <= 60_000) return ms;
  const ra = headers?.get("retry-after");
  if (ra) {
    const secs = Number(ra);
    const fromHeader = Number.isFinite(secs) ? secs * 1000 : Date.parse(ra) - Date.now();
    if (fromHeader >= 0 && fromHeader <= 60_000) return fromHeader;
  }
  const base = Math.min(500 * 2 ** attempt, 8000);
  return base * (1 - Math.random() * 0.25);
}

export class Transport {
  constructor(private readonly cfg: TransportConfig) {}

  /** Calls one generated operation with our client and fetch, and resolves with its parsed 2xx body. */
  async request<F extends RequestOperation>(fn: F, input: OperationInput<F>, opts: RequestOptions = {}): Promise<OperationResult<F>> {
    // The one unchecked step: `F`'s parameter is `Options<FData>`, which `input` is part of by construction.
    const call = fn as unknown as (options: BoundOptions) => Promise<{ data: OperationResult<F> }>;
    const { data } = await call({
      ...input,
      client: this.cfg.http,
      throwOnError: true,
      headers: { ...headersOf(input), ...opts.headers },
      fetch: this.fetchFor(opts),
    });
    return data;
  }

  /**
   * Follows one generated text/event-stream operation (hey-api's `client.sse`, which parses the
   * stream and reconnects with `Last-Event-ID`). Around it: the connection goes through `fetchFor`
   * (auth, typed errors, timeout on the response headers), an idle watchdog, reconnects only for
   * transient failures (at most `maxRetries` in all, with our backoff, ended at once by `signal`), and errors
   * that reach the caller: the generated client reports them to a callback and ends the stream quietly.
   */
  async *stream<F extends StreamOperation>(fn: F, input: OperationInput<F>, opts: StreamOptions = {}): AsyncGenerator<StreamedEvent> {
    const ctl = new AbortController();
    const unfollow = abortWith(ctl, opts.signal);

    let failure: unknown; // the last failure not recovered from by a reconnect
    let retries = 0;
    let last: StreamEvent | undefined;
    const send = this.fetchFor({ ...opts, signal: ctl.signal, maxRetries: 0 });
    const fetchStream = async (req: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const res = await send(req, init);
      failure = undefined;
      if (!res.body) return res;
      return new Response(watchBody(res.body, opts.idleTimeout, ctl.signal), res);
    };
    const call = fn as unknown as (options: BoundStreamOptions) => Promise<{ stream: AsyncGenerator<unknown, unknown, unknown> }>;
    try {
      const { stream } = await call({
        ...input,
        client: this.cfg.http,
        headers: { accept: "text/event-stream", ...headersOf(input), ...opts.headers },
        fetch: fetchStream,
        signal: ctl.signal,
        // Attempts over the stream's whole life: the generated client does not reset them on success.
        sseMaxRetryAttempts: 1 + (opts.maxRetries ?? this.cfg.maxRetries),
        onSseEvent: (event) => (last = event),
        onSseError: (err) => (failure = err),
        // Called before each reconnect: a final answer (or an abort) ends the stream with its error instead.
        sseSleepFn: async () => {
          if (ctl.signal.aborted || !isRetryableStreamError(failure)) throw failure;
          await sleep(retryDelayMs(retries++, failure instanceof AerioxError ? failure.headers : undefined), ctl.signal);
        },
      });
      for await (const data of stream) {
        // onSseEvent runs for every event just before the generated stream yields its data.
        yield { event: last?.event || "message", data, ...(last?.id !== undefined && { id: last.id }) };
      }
      if (ctl.signal.aborted) throw abortReason(ctl.signal);
      if (failure !== undefined) throw failure;
    } finally {
      unfollow();
      // Stopped early (consumer broke out, error): close the connection instead of leaking it.
      ctl.abort();
    }
  }

  /** A `fetch` bound to one call's options, passed to the generated functions. */
  fetchFor(opts: RequestOptions = {}): typeof fetch {
    return ((input: RequestInfo | URL, init?: RequestInit) => this.send(new Request(input, init), opts)) as typeof fetch;
  }

  /**
   * One attempt whose body is streamed as it is produced (`duplex: "half"`), never buffered, so
   * never retried: large uploads. The timeout bounds the wait for response headers, as in `send`.
   */
  async sendStreaming(url: string, init: { method: string; headers: Headers; body: ReadableStream<Uint8Array> }, opts: RequestOptions): Promise<Response> {
    const ctl = new AbortController();
    let timedOut = false;
    const timeout = opts.timeout ?? this.cfg.timeout;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, timeout);
    const userSignal = opts.signal;
    const unfollow = abortWith(ctl, userSignal);
    let res: Response;
    try {
      const f = this.cfg.fetch ?? globalThis.fetch;
      res = await f(url, { ...init, signal: ctl.signal, duplex: "half" } as RequestInit);
    } catch (cause) {
      if (userSignal?.aborted) throw abortReason(userSignal);
      throw timedOut ? new APITimeoutError(`Request timed out after ${timeout} ms`, { cause }) : new APIConnectionError(`Connection error: ${(cause as Error)?.message ?? cause}`, { cause });
    } finally {
      clearTimeout(timer);
      unfollow();
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  async send(req: Request, opts: RequestOptions): Promise<Response> {
    // Buffer the body once so every attempt can resend the same bytes.
    const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
    const headers = new Headers(req.headers);
    if (req.method === "POST" && opts.idempotencyKey !== false && !headers.has("idempotency-key")) {
      headers.set("Idempotency-Key", opts.idempotencyKey ?? uuid());
    }
    const maxRetries = opts.maxRetries ?? this.cfg.maxRetries;
    const timeout = opts.timeout ?? this.cfg.timeout;
    const userSignal = opts.signal;

    for (let attempt = 0; ; attempt++) {
      const ctl = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        ctl.abort();
      }, timeout);
      const unfollow = abortWith(ctl, userSignal);
      const done = () => {
        clearTimeout(timer);
        unfollow();
      };

      let res: Response;
      try {
        // Resolve fetch lazily: test tools and polyfills may replace globalThis.fetch after construction.
        const f = this.cfg.fetch ?? globalThis.fetch;
        res = await f(req.url, { method: req.method, headers, body, signal: ctl.signal, redirect: opts.redirect ?? "follow" });
      } catch (cause) {
        done();
        if (userSignal?.aborted) throw abortReason(userSignal);
        const err = timedOut
          ? new APITimeoutError(`Request timed out after ${timeout} ms`, { cause })
          : new APIConnectionError(`Connection error: ${(cause as Error)?.message ?? cause}`, { cause });
        if (attempt >= maxRetries) throw err;
        await sleep(retryDelayMs(attempt), userSignal);
        continue;
      }
      // The timeout bounds the wait for response headers; reading a body (or an SSE stream) is not cut off.
      done();
      if (res.ok || (opts.redirect === "manual" && res.status >= 300 && res.status < 400)) return res;

      const err: AerioxError = await errorFromResponse(res);
      if (attempt >= maxRetries || !isRetryable(res.status, err.code)) throw err;
      await sleep(retryDelayMs(attempt, res.headers), userSignal);
    }
  }
}
