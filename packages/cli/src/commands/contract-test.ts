/** `aeriox contract-test`: the @aeriox/contract-tests suite against any deployment (same options as `aeriox-contract-test`). */
import type { Command } from "commander";
import { configureContractTestCommand } from "@aeriox/contract-tests/command";

export function registerContractTest(program: Command): void {
  configureContractTestCommand(program.command("contract-test"));
}
