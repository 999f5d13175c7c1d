/**
 * The one way the server dereferences a URL it was given (by a caller or a provider):
 * docs/ARCHITECTURE.md, Access → Outbound fetches.
 *
 * - http(s) only, plus `data:` where the caller accepts it; no userinfo in URLs.
 * - The host is resolved inside the socket's own `lookup`, every answer is classified
 *   (address-policy.ts) and the connection is made to the checked address: there is no second
 *   lookup between check and connect, so DNS rebinding cannot swap the address. IP literals
 *   never reach `lookup` (Node connects to them directly) and are checked before the request.
 * - Redirects are followed here (at most 3) and every hop is checked again.
 * - One deadline covers every hop and the body; a declared Content-Length over the cap is
 *   refused before reading, and the stream is cut at the cap.
 * - Content types are checked per call before the body is read.
 *
 * Errors are OutboundFetchError with a stable code. Messages name the host and the reason,
 * never the path or query (signed URLs carry secrets there) nor anything of the response body.
 */
import { promises as dns, type LookupAddress, type LookupOptions } from "node:dns";
import http from "node:http";
import https from "node:https";
import { isIP } from "node:net";
import { classifyAddress, isBlockedHostname, type AddressPolicy } from "./address-policy.ts";

export type OutboundFetchErrorCode = "url_not_allowed" | "fetch_failed" | "fetch_timeout" | "fetch_too_large" | "unsupported_content_type";

export class OutboundFetchError extends Error {
  readonly code: OutboundFetchErrorCode;
  /** HTTP status of the upstream answer, when there was one. */
  readonly status: number | undefined;

  constructor(code: OutboundFetchErrorCode, message: string, init: { status?: number; cause?: unknown } = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "OutboundFetchError";
    this.code = code;
    this.status = init.status;
  }
}

export function isOutboundFetchError(err: unknown): err is OutboundFetchError {
  return err instanceof OutboundFetchError;
}

/** hostname → every address it resolves to. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/** Deployment-wide settings (from config); callers may narrow time and size per call. */
export interface OutboundPolicy extends AddressPolicy {
  timeoutMs: number;
  maxBytes: number;
  /** Where names are resolved. Tests inject a fixed map; production uses the system resolver. */
  resolve?: Resolver;
}

export const MAX_REDIRECTS = 3;

export interface GuardedFetchOptions {
  policy: OutboundPolicy;
  /** The caller's own cancellation (job cancel, provider deadline): rethrown as its reason, not as fetch_timeout. */
  signal?: AbortSignal;
  /** Total time for every hop and the body; default policy.timeoutMs. */
  timeoutMs?: number;
  /** Body size cap; default policy.maxBytes. */
  maxBytes?: number;
  /** Allowed media types ("image/png", "image/*"); absent → any. A missing Content-Type is then refused. */
  accept?: string[];
  /** Decode `data:` URLs (with the same size and type checks) instead of refusing them. */
  allowDataUrls?: boolean;
  /** At most MAX_REDIRECTS. */
  maxRedirects?: number;
  /** POST `body` (webhook deliveries); default GET. */
  method?: "GET" | "POST";
  body?: string | Buffer;
  /** Extra request headers (e.g. a webhook's content type and signature). */
  headers?: Record<string, string>;
  /** Read nothing of a 2xx answer's body (a webhook receiver's reply is not used): the body comes back empty. */
  discardBody?: boolean;
}

export interface FetchedBody {
  bytes: Buffer;
  /** Media type without parameters, lower-case ("" when the answer declared none and any type was accepted). */
  contentType: string;
}

export async function guardedFetch(rawUrl: string, options: GuardedFetchOptions): Promise<FetchedBody> {
  const maxBytes = options.maxBytes ?? options.policy.maxBytes;
  if (options.allowDataUrls && /^data:/i.test(rawUrl)) return decodeDataUrl(rawUrl, maxBytes, options.accept);

  const deadline = AbortSignal.timeout(options.timeoutMs ?? options.policy.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const maxRedirects = Math.min(options.maxRedirects ?? MAX_REDIRECTS, MAX_REDIRECTS);
  let url = checkUrl(rawUrl, options.policy);
  for (let hop = 0; ; hop++) {
    try {
      const answer = await request(url, options, signal, maxBytes);
      if ("redirect" in answer) {
        if (hop >= maxRedirects) throw new OutboundFetchError("fetch_failed", `${url.host} redirected more than ${maxRedirects} times`, { status: answer.status });
        url = checkUrl(answer.redirect, options.policy);
        continue;
      }
      return answer;
    } catch (err) {
      if (options.signal?.aborted) throw options.signal.reason;
      if (deadline.aborted) throw new OutboundFetchError("fetch_timeout", `${url.host} did not answer within ${options.timeoutMs ?? options.policy.timeoutMs} ms`, { cause: err });
      if (isOutboundFetchError(err)) throw err;
      throw new OutboundFetchError("fetch_failed", `could not fetch from ${url.host}: ${networkReason(err)}`, { cause: err });
    }
  }
}

/**
 * Syntax and literal-address checks that need no DNS: scheme, userinfo, blocked names, and
 * IP-literal hosts (which Node connects to without a lookup). Exported for the classifier tests.
 */
export function checkUrl(raw: string, policy: AddressPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OutboundFetchError("url_not_allowed", "the URL is not a valid absolute URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new OutboundFetchError("url_not_allowed", `the ${url.protocol.replace(/:$/, "")} scheme is not allowed (http and https only)`);
  if (url.username || url.password) throw new OutboundFetchError("url_not_allowed", "URLs with credentials (user@host) are not allowed");
  const host = bareHost(url);
  if (!host) throw new OutboundFetchError("url_not_allowed", "the URL has no host");
  if (isIpLiteral(host)) {
    const verdict = classifyAddress(host, policy);
    if (!verdict.allowed) throw new OutboundFetchError("url_not_allowed", `address ${host} is not allowed (${verdict.range})`);
  } else if (isBlockedHostname(host)) {
    throw new OutboundFetchError("url_not_allowed", `host ${host} is not allowed`);
  }
  return url;
}

type Answer = FetchedBody | { redirect: string; status: number };

function request(url: URL, options: GuardedFetchOptions, signal: AbortSignal, maxBytes: number): Promise<Answer> {
  const transport = url.protocol === "https:" ? https : http;
  return new Promise<Answer>((resolve, reject) => {
    const req = transport.request(
      {
        method: options.method ?? "GET",
        protocol: url.protocol,
        hostname: bareHost(url),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        headers: {
          accept: options.accept?.join(", ") ?? "*/*",
          "accept-encoding": "identity",
          "user-agent": "aeriox-fetch/1",
          ...options.headers,
          ...(options.body !== undefined ? { "content-length": String(Buffer.byteLength(options.body)) } : {}),
        },
        // A fresh agent per request: no pooled socket to some earlier (differently checked) address is reused.
        agent: false,
        lookup: checkedLookup(options.policy),
        signal,
      },
      (res) => {
        readAnswer(url, res, options, maxBytes).then(resolve, (err: unknown) => {
          res.destroy();
          reject(err);
        });
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

async function readAnswer(url: URL, res: http.IncomingMessage, options: GuardedFetchOptions, maxBytes: number): Promise<Answer> {
  const status = res.statusCode ?? 0;
  if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
    res.resume();
    let next: string;
    try {
      next = new URL(res.headers.location, url).href;
    } catch {
      throw new OutboundFetchError("fetch_failed", `${url.host} redirected to an invalid location`, { status });
    }
    return { redirect: next, status };
  }
  if (status < 200 || status > 299) throw new OutboundFetchError("fetch_failed", `${url.host} answered HTTP ${status}`, { status });
  if (options.discardBody) {
    res.resume();
    return { bytes: Buffer.alloc(0), contentType: mediaType(res.headers["content-type"]) };
  }
  const declared = Number(res.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) throw new OutboundFetchError("fetch_too_large", `${url.host} declared ${declared} bytes, above the ${maxBytes} byte limit`, { status });
  const contentType = mediaType(res.headers["content-type"]);
  assertAccepted(contentType, options.accept, url.host);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new OutboundFetchError("fetch_too_large", `${url.host} sent more than the ${maxBytes} byte limit`, { status });
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), contentType };
}

/**
 * net's `lookup` hook: resolve, refuse when any answer is not allowed (a name that mixes public
 * and private answers is a rebinding attempt), and hand net only checked addresses to connect to.
 */
function checkedLookup(policy: OutboundPolicy) {
  const resolve = policy.resolve ?? systemResolver;
  return (hostname: string, opts: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    resolve(hostname).then(
      (answers) => {
        const refused = answers.find((a) => !classifyAddress(a.address, policy).allowed);
        if (refused) return callback(new OutboundFetchError("url_not_allowed", `host ${hostname} resolves to an address that is not allowed`) as NodeJS.ErrnoException, "");
        const usable = opts.family === 4 || opts.family === 6 ? answers.filter((a) => a.family === opts.family) : answers;
        if (usable.length === 0) return callback(new OutboundFetchError("fetch_failed", `host ${hostname} did not resolve`) as NodeJS.ErrnoException, "");
        if (opts.all) callback(null, usable);
        else callback(null, usable[0]!.address, usable[0]!.family);
      },
      (err: unknown) => callback(new OutboundFetchError("fetch_failed", `host ${hostname} did not resolve`, { cause: err }) as NodeJS.ErrnoException, ""),
    );
  };
}

function decodeDataUrl(raw: string, maxBytes: number, accept: string[] | undefined): FetchedBody {
  const comma = raw.indexOf(",");
  if (comma < 0) throw new OutboundFetchError("url_not_allowed", "malformed data: URL");
  const meta = raw.slice(5, comma).split(";").map((s) => s.trim());
  const isBase64 = meta.length > 1 && meta.at(-1)!.toLowerCase() === "base64";
  const payload = raw.slice(comma + 1);
  // Refuse on the encoded length first: base64 decodes to 3/4 of it, percent-encoding to at most all of it.
  if ((isBase64 ? Math.floor((payload.length * 3) / 4) - 2 : payload.length / 3) > maxBytes) throw new OutboundFetchError("fetch_too_large", `data: URL is above the ${maxBytes} byte limit`);
  let bytes: Buffer;
  try {
    bytes = isBase64 ? Buffer.from(payload, "base64") : Buffer.from(decodeURIComponent(payload));
  } catch {
    throw new OutboundFetchError("url_not_allowed", "malformed data: URL");
  }
  if (bytes.byteLength > maxBytes) throw new OutboundFetchError("fetch_too_large", `data: URL is above the ${maxBytes} byte limit`);
  const contentType = (meta[0] || "text/plain").toLowerCase();
  assertAccepted(contentType, accept, "data: URL");
  return { bytes, contentType };
}

function assertAccepted(contentType: string, accept: string[] | undefined, source: string): void {
  if (!accept) return;
  const ok = accept.some((pattern) => {
    const p = pattern.toLowerCase();
    return p.endsWith("/*") ? contentType.startsWith(p.slice(0, -1)) : contentType === p;
  });
  if (!ok) throw new OutboundFetchError("unsupported_content_type", `${source} answered ${contentType ? `content type ${contentType}` : "no content type"}; expected ${accept.join(" or ")}`);
}

function mediaType(header: string | undefined): string {
  return (header ?? "").split(";")[0]!.trim().toLowerCase();
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** Node's own test for "connect without lookup" (the WHATWG parser has already turned decimal, octal and hex IPv4 forms into dotted quads). */
function isIpLiteral(host: string): boolean {
  return isIP(host) !== 0;
}

function networkReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (code === "ECONNRESET" || code === "EPIPE") return "connection reset";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "host not found";
  if (typeof code === "string" && (code.startsWith("ERR_TLS") || code.includes("CERT"))) return "TLS handshake failed";
  return code ? `network error (${code})` : "network error";
}
