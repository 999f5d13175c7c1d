/**
 * Every operation of the spec → the CLI command that calls it, from the spec's `x-aeriox-cli`
 * (a command such as `cards list`, or `{api-only: reason}` for an operation reachable only through
 * `aeriox api <operationId>`; deprecated aliases get theirs from `x-aeriox-alias-of`). A command
 * that is not hand-written is built from the spec (registerSpecCommands in api.ts). The contract
 * test (test/contract.test.ts) checks each named command exists.
 */
import { specOperations, type OperationInfo } from "./spec-ops.ts";

export interface CommandCoverage {
  operationId: string;
  /** The command words after `aeriox` (`["api", operationId]` for api-only operations). */
  words: string[];
  /** Why the operation has no command of its own (null when it has one). */
  apiOnly: string | null;
}

export function commandCoverage(operations: OperationInfo[] = specOperations()): CommandCoverage[] {
  return operations.map((op) =>
    "command" in op.cli
      ? { operationId: op.operationId, words: op.cli.command.split(" ").filter(Boolean), apiOnly: null }
      : { operationId: op.operationId, words: ["api", op.operationId], apiOnly: op.cli.apiOnly },
  );
}
