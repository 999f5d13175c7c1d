/** `aeriox keys …`: API key administration for self-hosters. */
import type { Command } from "commander";
import { loadConfig } from "@aeriox/core/config";
import { runAdmin } from "../admin-client.ts";
import { printResult, UsageError, type OutputOptions } from "../output.ts";

function parseScopes(value: string | undefined): string[] | undefined {
  return value ? value.split(",").map((s) => s.trim()).filter(Boolean) : undefined;
}

function parseUsd(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${flag} must be a non-negative number of USD`);
  return n;
}

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("Create and manage API keys");
  keys
    .command("create")
    .description("Create an API key (creates the workspace if it does not exist)")
    .requiredOption("-w, --workspace <name-or-id>", "workspace name or id")
    .option("--name <name>", "a label for the key")
    .option("--scopes <list>", "comma-separated scopes: generate,read,admin (default all)")
    .option("--daily-cap <usd>", "daily spend cap in USD")
    .option("--json", "print JSON")
    .action(async (opts: OutputOptions & { workspace: string; name?: string; scopes?: string; dailyCap?: string }) => {
      const result = (await runAdmin(loadConfig(), "keys.create", {
        workspace: opts.workspace,
        ...(opts.name ? { name: opts.name } : {}),
        ...(opts.scopes ? { scopes: parseScopes(opts.scopes) } : {}),
        ...(opts.dailyCap !== undefined ? { daily_spend_cap_usd: parseUsd(opts.dailyCap, "--daily-cap") } : {}),
      })) as { key: string; key_id: string; workspace_id: string; scopes: string[] };
      printResult(opts, result, () =>
        [`API key (shown once, store it now): ${result.key}`, `  key id:       ${result.key_id}`, `  workspace id: ${result.workspace_id}`, `  scopes:       ${result.scopes.join(", ")}`].join("\n"),
      );
    });
}
