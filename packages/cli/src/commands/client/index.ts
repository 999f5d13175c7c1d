/** Registers the client commands (everything that talks to an AERIOX API over HTTP), one file per noun, in help order. */
import type { Command, CommandUnknownOpts } from "@commander-js/extra-typings";
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
import { registerApi, registerSpecCommands } from "./api.ts";
import { registerWebhooks } from "./webhooks.ts";
import { registerAuth } from "./auth.ts";
import { registerCompletion } from "../../completion.ts";
import { registerMcp } from "../../mcp/command.ts";

/**
 * Whether the command line addresses a hand-written command. Then the spec-driven commands are
 * not built: building them reads the spec, which a hand-written command does not otherwise need
 * (in the workspace that is a YAML parse on every start).
 */
function addressesHandWritten(program: Command, argv: string[]): boolean {
  const words = argv.filter((a) => !a.startsWith("-"));
  let cmd: CommandUnknownOpts = program;
  let depth = 0;
  for (const w of words) {
    const next: CommandUnknownOpts | undefined = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!next) break;
    cmd = next;
    depth++;
    if (!cmd.commands.length) break;
  }
  return depth > 0 && cmd.commands.length === 0 && !["help", "completion"].includes(words[0] ?? "");
}

export function registerClientCommands(program: Command, argv: string[] = process.argv.slice(2)): void {
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
  // Operations whose x-aeriox-cli command is not hand-written get a generic one (api.ts).
  if (!addressesHandWritten(program, argv)) registerSpecCommands(program);
}
