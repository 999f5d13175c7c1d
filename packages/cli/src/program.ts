/** The `aeriox` command tree. */
import { Command } from "@commander-js/extra-typings";
import { registerServe } from "./commands/serve.ts";
import { registerMigrate } from "./commands/migrate.ts";
import { registerKeys } from "./commands/keys.ts";
import { registerWallet } from "./commands/wallet.ts";
import { registerOAuthClients, registerOAuthKeys } from "./commands/oauth-clients.ts";
import { registerWorker } from "./commands/worker.ts";
import { registerClientCommands } from "./commands/client/index.ts";
import { registerContractTest } from "./commands/contract-test.ts";

export function buildProgram(): Command {
  const program = new Command("aeriox")
    .description("AERIOX Open: generative media API server, worker and client")
    .showHelpAfterError()
    .exitOverride();
  registerServe(program);
  registerMigrate(program);
  registerKeys(program);
  registerWallet(program);
  registerOAuthClients(program);
  registerOAuthKeys(program);
  registerWorker(program);
  registerClientCommands(program);
  registerContractTest(program);
  return program;
}
