/**
 * MCP over streamable HTTP (stateless): every POST to `/mcp` gets its own MCP server acting
 * with the caller's credential (`Authorization: Bearer …` or `X-Api-Key`: an API key or an
 * OAuth access token), so one endpoint serves many workspaces. `aeriox mcp --http PORT` runs
 * it; `aeriox serve` mounts the same handler at `/mcp` (mount.ts).
 *
 * The credential is checked against the API (`GET /v1/me`: 401 there is 401 here) before
 * any MCP message is handled, so a wrong, expired or revoked key is refused at connect.
 * A 401 carries `WWW-Authenticate: Bearer resource_metadata="…"` (RFC 9728 §5.1) when the
 * handler knows its protected-resource metadata, which is how MCP clients find the OAuth
 * server and sign in. A `tools/call` with a `progressToken` is answered as an SSE stream so
 * progress notifications reach the client before the result; everything else is one JSON body.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createMcpServer, ToolCatalog } from "./server.ts";

export interface McpHttpOptions {
  baseUrl: string;
  /** Used when a request carries no credential (only for loopback listeners). */
  fallbackApiKey?: string | undefined;
  /** RFC 9728 metadata URL named in the 401's `WWW-Authenticate`. */
  resourceMetadataUrl?: string | undefined;
}

/** Largest JSON-RPC POST body read (the MCP SDK's own bound). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

type CredentialCheck = { ok: true } | { ok: false; status: number; code: string; message: string; retryAfter?: string };

/**
 * Asks the API whether the credential authenticates: 200 or 403 (valid, lacking the read
 * scope) is yes, 401 is no; 429 is passed on; anything else means the API cannot tell (503).
 */
async function checkCredential(baseUrl: string, credential: string): Promise<CredentialCheck> {
  try {
    const res = await fetch(new URL("/v1/me", baseUrl), { headers: { authorization: `Bearer ${credential}`, accept: "application/json" }, signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    if (res.ok || res.status === 403) return { ok: true };
    if (res.status === 401) return { ok: false, status: 401, code: "unauthorized", message: "Invalid, expired or revoked credential: send a valid AERIOX API key or OAuth access token as `Authorization: Bearer …`" };
    if (res.status === 429) return { ok: false, status: 429, code: "rate_limited", message: "Too many requests for this credential", retryAfter: res.headers.get("retry-after") ?? "1" };
    return { ok: false, status: 503, code: "api_unavailable", message: `The AERIOX API could not check the credential (HTTP ${res.status})`, retryAfter: "5" };
  } catch {
    return { ok: false, status: 503, code: "api_unavailable", message: "The AERIOX API could not be reached to check the credential", retryAfter: "5" };
  }
}

/** Reads a bounded body; null when it is larger than the bound. */
async function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

const wantsProgress = (message: unknown): boolean => {
  const m = message as { method?: unknown; params?: { _meta?: { progressToken?: unknown } } } | null;
  return !!m && m.method === "tools/call" && m.params?._meta?.progressToken !== undefined;
};

function credential(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, "").trim() || undefined;
  const header = req.headers["x-api-key"];
  return typeof header === "string" && header.trim() ? header.trim() : undefined;
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers }).end(JSON.stringify(body));
}

export function createMcpHttpHandler(opts: McpHttpOptions): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  const catalog = new ToolCatalog(opts.baseUrl);
  return async (req, res) => {
    if (req.method !== "POST") {
      // Stateless: no server-initiated stream (GET) and no session to end (DELETE).
      sendJson(res, 405, { jsonrpc: "2.0", error: { code: -32000, message: "Method not allowed: POST JSON-RPC messages to /mcp" }, id: null }, { allow: "POST" });
      return;
    }
    const challenge = (error?: string) =>
      ["Bearer", [error && `error="${error}"`, opts.resourceMetadataUrl && `resource_metadata="${opts.resourceMetadataUrl}"`].filter(Boolean).join(", ")].filter(Boolean).join(" ");
    const apiKey = credential(req) ?? opts.fallbackApiKey;
    if (!apiKey) {
      sendJson(res, 401, { error: { code: "unauthorized", message: "Send your AERIOX API key (or an OAuth access token) as `Authorization: Bearer …`" } }, { "www-authenticate": challenge() });
      return;
    }
    const check = await checkCredential(opts.baseUrl, apiKey);
    if (!check.ok) {
      const headers: Record<string, string> = check.retryAfter ? { "retry-after": check.retryAfter } : {};
      if (check.status === 401) headers["www-authenticate"] = challenge("invalid_token");
      sendJson(res, check.status, { error: { code: check.code, message: check.message } }, headers);
      return;
    }
    const raw = await readBody(req);
    if (raw === null) {
      sendJson(res, 413, { jsonrpc: "2.0", error: { code: -32600, message: `Request body larger than ${MAX_BODY_BYTES} bytes` }, id: null });
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      sendJson(res, 400, { jsonrpc: "2.0", error: { code: -32700, message: "Parse error: the body is not JSON" }, id: null });
      return;
    }
    const stream = (Array.isArray(parsed) ? parsed : [parsed]).some(wantsProgress);
    const server = createMcpServer({ apiKey, baseUrl: opts.baseUrl, catalog });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: !stream });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, parsed);
  };
}

/** Listens on `host:port` and serves MCP at `/mcp`; resolves with the endpoint URL. */
export async function startMcpHttp(opts: McpHttpOptions & { host: string; port: number }): Promise<{ url: string; server: http.Server }> {
  const handler = createMcpHttpHandler(opts);
  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    if (pathname !== "/mcp") {
      sendJson(res, 404, { error: { code: "not_found", message: "The MCP endpoint is /mcp" } });
      return;
    }
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { jsonrpc: "2.0", error: { code: -32603, message: (err as Error)?.message ?? "internal error" }, id: null });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  return { url: `http://${host}:${port}/mcp`, server };
}
