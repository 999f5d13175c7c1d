/** Registers the client commands (everything that talks to an AERIOX API over HTTP). */
import type { Command } from "commander";
import { registerGenerate } from "./generate.ts";
import { registerResources } from "./resources.ts";
import { registerJobsListAndUsage } from "./jobs-usage.ts";
import { registerAssets } from "./assets.ts";
import { registerApi } from "./api.ts";
import { registerWebhooks } from "./webhooks.ts";
import { registerAuth } from "./auth.ts";
import { registerCompletion } from "../../completion.ts";
import { registerMcp } from "../../mcp/command.ts";

export function registerClientCommands(program: Command): void {
  registerAuth(program);
  registerGenerate(program);
  registerResources(program);
  registerJobsListAndUsage(program);
  registerAssets(program);
  registerWebhooks(program);
  registerApi(program);
  registerMcp(program);
  registerCompletion(program);
}
