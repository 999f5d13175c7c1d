/** `aeriox mcp`: the MCP server on stdio (for Claude Desktop, Cursor, … and any MCP client). */
import type { Command } from "commander";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { resolveSettings } from "../profile.ts";
import { createMcpServer } from "./server.ts";

export function registerMcp(program: Command): void {
  program
    .command("mcp")
    .description("Run the MCP server on stdio: one tool per API operation plus generate_image_and_wait, wait_for_job, estimate_cost")
    .option("--api-key <key>", "API key (default: AERIOX_API_KEY, then the `aeriox login` profile)")
    .option("--base-url <url>", "API base URL (default: AERIOX_BASE_URL, then the profile, then http://localhost:8080)")
    .addHelpText(
      "after",
      '\nClient configuration example:\n  { "mcpServers": { "aeriox": { "command": "aeriox", "args": ["mcp"], "env": { "AERIOX_API_KEY": "sk_live_…" } } } }',
    )
    .action(async (flags: { apiKey?: string; baseUrl?: string }) => {
      const settings = resolveSettings(flags);
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
