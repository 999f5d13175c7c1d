/** Registers the client commands (everything that talks to an AERIOX API over HTTP), one file per noun, in help order. */
import type { Command } from "@commander-js/extra-typings";
import { registerGenerate } from "./generate.ts";
import { registerJobs } from "./jobs.ts";
import { registerEstimate } from "./estimate.ts";
import { registerModels } from "./models.ts";
import { registerPricing } from "./pricing.ts";
import { registerMe } from "./me.ts";
import { registerWallet } from "./wallet.ts";
import { registerPrisms } from "./prisms.ts";
import { registerCharacters } from "./characters.ts";
import { registerCards } from "./cards.ts";
import { registerAssets } from "./assets.ts";
import { registerApiKeys } from "./api-keys.ts";
import { registerServer } from "./server.ts";
import { registerUsage } from "./usage.ts";
import { registerApi } from "./api.ts";
import { registerWebhooks } from "./webhooks.ts";
import { registerAuth } from "./auth.ts";
import { registerCompletion } from "../../completion.ts";
import { registerMcp } from "../../mcp/command.ts";

export function registerClientCommands(program: Command): void {
  registerAuth(program);
  registerGenerate(program);
  registerJobs(program);
  registerEstimate(program);
  registerModels(program);
  registerPricing(program);
  registerMe(program);
  registerWallet(program);
  registerPrisms(program);
  registerCharacters(program);
  registerCards(program);
  registerAssets(program);
  registerApiKeys(program);
  registerServer(program);
  registerUsage(program);
  registerWebhooks(program);
  registerApi(program);
  registerMcp(program);
  registerCompletion(program);
}
