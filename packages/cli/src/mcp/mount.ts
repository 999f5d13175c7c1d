/**
 * `/mcp` on the API server (`aeriox serve`): the streamable HTTP handler (http.ts), talking to
 * this server's own API on loopback, and the RFC 9728 metadata of the `/mcp` resource at its
 * path-suffixed well-known URL. The 401 of `/mcp` names the API's root document
 * (`/.well-known/oauth-protected-resource`, served by the server package with the OAuth
 * server's RFC 8414 metadata and registration), whose resource covers `/mcp`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PROTECTED_RESOURCE_METADATA_PATH, protectedResourceMetadata, type AppOptions } from "@aeriox/server";

type App = Parameters<NonNullable<AppOptions["extraRoutes"]>>[0];

export interface McpMountOptions {
  /** PUBLIC_URL: the OAuth issuer and the origin clients see. */
  publicUrl: () => string;
  /** Where the handler reaches the API (known once the server listens). */
  apiBaseUrl: () => string;
}

export function mountMcp(app: App, opts: McpMountOptions): void {
  let handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  app.get(`${PROTECTED_RESOURCE_METADATA_PATH}/mcp`, (_req, res) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Cache-Control", "public, max-age=300");
    res.status(200).json(protectedResourceMetadata(opts.publicUrl(), `${opts.publicUrl()}/mcp`));
  });
  app.all("/mcp", async (req, res, next) => {
    try {
      if (!handler) {
        const { createMcpHttpHandler } = await import("./http.ts");
        handler = createMcpHttpHandler({ baseUrl: opts.apiBaseUrl(), resourceMetadataUrl: `${opts.publicUrl()}${PROTECTED_RESOURCE_METADATA_PATH}` });
      }
      await handler(req, res);
    } catch (err) {
      next(err);
    }
  });
}
