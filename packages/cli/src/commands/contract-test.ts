/** `aeriox contract-test`: the @aeriox/contract-tests suite against any deployment (same options as `aeriox-contract-test`). */
import type { Command } from "@commander-js/extra-typings";
import type { Command as PlainCommand } from "commander";
import { configureContractTestCommand } from "@aeriox/contract-tests/command";

export function registerContractTest(program: Command): void {
  // @aeriox/contract-tests types its command with plain commander's Command: the same class at run time.
  configureContractTestCommand(program.command("contract-test") as unknown as PlainCommand);
}
