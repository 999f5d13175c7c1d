/** `aeriox mcp`: the MCP server on stdio (for Claude Desktop, Cursor, … and any MCP client). */
import type { Command } from "@commander-js/extra-typings";
import { resolveSettings } from "../profile.ts";
import { UsageError } from "../output.ts";

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("Run the MCP server on stdio: one tool per API operation plus generate_image_and_wait, wait_for_job, estimate_cost")
    .option("--api-key <key>", "API key (default: AERIOX_API_KEY, then the `aeriox login` profile)")
    .option("--base-url <url>", "API base URL (default: AERIOX_BASE_URL, then the profile, then http://localhost:8080)")
    .option("--http <port>", "serve MCP over streamable HTTP at http://HOST:PORT/mcp instead of stdio (each request acts with its own `Authorization: Bearer` key)")
    .option("--host <host>", "interface for --http", "127.0.0.1")
    .addHelpText(
      "after",
      '\nClient configuration example:\n  { "mcpServers": { "aeriox": { "command": "aeriox", "args": ["mcp"], "env": { "AERIOX_API_KEY": "sk_live_…" } } } }',
    )
    .action(async (flags: { apiKey?: string; baseUrl?: string; http?: string; host: string }) => {
      const settings = resolveSettings(flags);
      if (flags.http !== undefined) {
        const port = Number(flags.http);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError("--http needs a port number (0 picks a free one)");
        const loopback = ["127.0.0.1", "::1", "localhost"].includes(flags.host);
        // The MCP SDK is loaded by this command only: every other command (and `serve`, until /mcp is called) starts without it.
        const { startMcpHttp } = await import("./http.ts");
        const { url, server } = await startMcpHttp({ host: flags.host, port, baseUrl: settings.baseUrl, fallbackApiKey: loopback ? settings.apiKey : undefined });
        process.stdout.write(`AERIOX MCP (streamable HTTP) listening on ${url} for the API at ${settings.baseUrl}\n`);
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once("SIGINT", stop);
          process.once("SIGTERM", stop);
        });
        return;
      }
      const [{ StdioServerTransport }, { createMcpServer }] = await Promise.all([import("@modelcontextprotocol/sdk/server/stdio.js"), import("./server.ts")]);
      const server = createMcpServer({ apiKey: settings.apiKey, baseUrl: settings.baseUrl });
      const transport = new StdioServerTransport();
      await server.connect(transport);
      // Stay up until the client closes stdin.
      await new Promise<void>((resolve) => {
        transport.onclose = () => resolve();
        process.stdin.once("end", () => resolve());
      });
      await server.close().catch(() => {});
    });
}
