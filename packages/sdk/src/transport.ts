// The one place where bytes leave the SDK. The generated hey-api client builds each Request from
// the spec (paths, query, body, auth); it hands it to `Transport.fetchFor(...)`, which adds what the
// spec cannot express: timeouts, retries with backoff, idempotency keys and typed errors.
import { APIConnectionError, APITimeoutError, errorFromResponse, type AerioxError } from "./errors.ts";
import { abortReason, sleep, uuid } from "./env.ts";

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

export interface TransportConfig {
  fetch: typeof fetch | undefined;
  timeout: number;
  maxRetries: number;
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
    const onAbort = () => ctl.abort(userSignal && abortReason(userSignal));
    if (userSignal?.aborted) onAbort();
    userSignal?.addEventListener("abort", onAbort, { once: true });
    let res: Response;
    try {
      const f = this.cfg.fetch ?? globalThis.fetch;
      res = await f(url, { ...init, signal: ctl.signal, duplex: "half" } as RequestInit);
    } catch (cause) {
      if (userSignal?.aborted) throw abortReason(userSignal);
      throw timedOut ? new APITimeoutError(`Request timed out after ${timeout} ms`, { cause }) : new APIConnectionError(`Connection error: ${(cause as Error)?.message ?? cause}`, { cause });
    } finally {
      clearTimeout(timer);
      userSignal?.removeEventListener("abort", onAbort);
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
      const onAbort = () => ctl.abort(userSignal && abortReason(userSignal));
      if (userSignal?.aborted) onAbort();
      userSignal?.addEventListener("abort", onAbort, { once: true });
      const done = () => {
        clearTimeout(timer);
        userSignal?.removeEventListener("abort", onAbort);
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
