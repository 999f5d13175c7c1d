/**
 * MCP over streamable HTTP (stateless): every POST to `/mcp` gets its own MCP server acting
 * with the caller's credential (`Authorization: Bearer …` or `X-Api-Key`), so one endpoint
 * serves many workspaces. `aeriox mcp --http PORT` runs it; an API server can mount the same
 * handler at `/mcp` (it is a plain Node request handler).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { createMcpServer, ToolCatalog } from "./server.ts";

export interface McpHttpOptions {
  baseUrl: string;
  /** Used when a request carries no credential (only for loopback listeners). */
  fallbackApiKey?: string | undefined;
}

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
    const apiKey = credential(req) ?? opts.fallbackApiKey;
    if (!apiKey) {
      sendJson(res, 401, { error: { code: "unauthorized", message: "Send your AERIOX API key as `Authorization: Bearer sk_live_…`" } }, { "www-authenticate": "Bearer" });
      return;
    }
    const server = createMcpServer({ apiKey, baseUrl: opts.baseUrl, catalog });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
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
