#!/usr/bin/env node
/** Entry point: runs the command, maps failures to exit codes (0 ok, 1 error, 2 usage) without stacks. */
import { CommanderError } from "commander";
import { ConfigError } from "@aeriox/core/config";
import { DataDirLockedError } from "@aeriox/core/data-dir-lock";
import { isApiError } from "@aeriox/core/errors";
import { buildProgram } from "./program.ts";
import { CommandError, UsageError } from "./output.ts";
import { applyDataDirDefault } from "./invocation.ts";

function exitWith(code: number, message?: string): never {
  if (message) process.stderr.write(`aeriox: ${message}\n`);
  process.exit(code);
}

// Before any command reads the environment: DATA_DIR follows the user (invocation.ts).
applyDataDirDefault();

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) exitWith(err.exitCode === 0 ? 0 : 2);
  if (err instanceof UsageError || err instanceof ConfigError) exitWith(2, err.message);
  if (err instanceof DataDirLockedError) exitWith(1, err.message);
  if (err instanceof CommandError) exitWith(1, err.code ? `${err.code}: ${err.message}` : err.message);
  // Bad arguments are the user's to fix (2); anything the system refused or failed at is 1.
  if (isApiError(err)) exitWith(err.code === "invalid_request" ? 2 : 1, `${err.code}: ${err.message}`);
  exitWith(1, (err as Error)?.message ?? String(err));
}
