#!/usr/bin/env node
/** `aeriox-contract-test` (also `npx @aeriox/contract-tests`): exit 0 all conform, 1 violations or errors, 2 usage. */
import { Command, CommanderError } from "commander";
import { configureContractTestCommand } from "./command.ts";

const program = configureContractTestCommand(new Command("aeriox-contract-test")).showHelpAfterError().exitOverride();
try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 2);
  process.stderr.write(`aeriox-contract-test: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
}
