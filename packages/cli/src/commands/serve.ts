/** `aeriox serve`: the API server (and the in-process job runner on the embedded default). */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Command } from "commander";
import type { AppOptions } from "@aeriox/server";
import { loadConfig } from "@aeriox/core/config";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Run the API server (migrates the database first)")
    .option("-p, --port <port>", "port to listen on (env PORT, default 8080)")
    .action(async (opts: { port?: string }) => {
      const config = loadConfig(opts.port ? { ...process.env, PORT: opts.port } : process.env);
      // Loaded on use: client commands should not pay for the server's import graph.
      const { startServer } = await import("@aeriox/server");
      // MCP over streamable HTTP at /mcp (same tools as `aeriox mcp`), acting with each request's key.
      let port = 0;
      let mcpHandler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
      const mountMcp: NonNullable<AppOptions["extraRoutes"]> = (app) =>
        app.all("/mcp", async (req, res, next) => {
          try {
            if (!mcpHandler) {
              const { createMcpHttpHandler } = await import("../mcp/http.ts");
              mcpHandler = createMcpHttpHandler({ baseUrl: `http://127.0.0.1:${port}` });
            }
            await mcpHandler(req, res);
          } catch (err) {
            next(err);
          }
        });
      const running = await startServer(config, { app: { extraRoutes: mountMcp } });
      port = running.port;
      const storage = config.databaseKind === "pglite" ? `embedded database in ${config.dataDir}` : "PostgreSQL";
      const queue = config.queueKind === "bullmq" ? "BullMQ (run workers with `pnpm aeriox worker`)" : "in-process job runner";
      process.stdout.write(
        [
          `AERIOX API listening on ${running.url}  (${storage}; ${queue})`,
          `  Spec:   ${running.url}/openapi.json`,
          `  MCP:    ${running.url}/mcp (streamable HTTP; or \`aeriox mcp\` on stdio)`,
          `  Health: ${running.url}/healthz`,
          `  Create an API key:  pnpm aeriox keys create --workspace my-workspace`,
          "",
        ].join("\n"),
      );
      const shutdown = (signal: string) => {
        process.stdout.write(`\nReceived ${signal}, shutting down…\n`);
        running.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGINT", () => shutdown("SIGINT"));
      process.once("SIGTERM", () => shutdown("SIGTERM"));
    });
}
