/** `aeriox keys …`: API key administration for self-hosters. */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "@aeriox/core/config";
import { printResult } from "../output.ts";
import { admin, adminCall } from "./admin-command.ts";
import { keyFlagsBody, keyLimitsText, keyUpdateBody, withKeyUpdateOptions } from "./key-update-flags.ts";

interface KeyRow {
  id: string;
  prefix: string;
  name: string | null;
  scopes: string[];
  revoked_at: string | null;
  expires_at: string | null;
}

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("Create and manage API keys");
  const create = withKeyUpdateOptions(
    keys
      .command("create")
      .description("Create an API key with its limits (default: all scopes, no limit; creates the workspace if it does not exist)")
      .requiredOption("-w, --workspace <name-or-id>", "workspace name or id"),
  )
    .option("--daily-cap <usd>", "daily spend cap in USD (as --daily-cap-usd)")
    .option("--json", "print JSON")
    .option("-q, --quiet", "print only the key, e.g. export AERIOX_API_KEY=$(aeriox keys create -w demo -q)");
  create.action(async (opts) => {
    const result = await admin<{
      key: string;
      key_id: string;
      workspace_id: string;
      scopes: string[];
      daily_spend_cap_usd: number | null;
      monthly_budget_usd: number | null;
      allowed_models: string[] | null;
    }>(loadConfig(), "keys.create", {
      workspace: opts.workspace,
      ...keyFlagsBody({ ...opts, dailyCapUsd: opts.dailyCapUsd ?? opts.dailyCap }),
    });
    if (opts.quiet) {
      process.stdout.write(`${result.key}\n`);
      return;
    }
    printResult(opts, result, () =>
      [
        `API key (shown once, store it now): ${result.key}`,
        `  key id:         ${result.key_id}`,
        `  workspace id:   ${result.workspace_id}`,
        `  scopes:         ${result.scopes.join(", ")}`,
        `  daily cap:      ${result.daily_spend_cap_usd === null ? "none" : `$${result.daily_spend_cap_usd}`}`,
        `  monthly budget: ${result.monthly_budget_usd === null ? "none" : `$${result.monthly_budget_usd}`}`,
        `  models:         ${result.allowed_models === null ? "all" : result.allowed_models.join(", ")}`,
      ].join("\n"),
    );
  });
  adminCall(
    keys.command("list").description("List a workspace's API keys (never their secrets)").requiredOption("-w, --workspace <name-or-id>", "workspace name or id"),
    (opts) => admin<{ data: KeyRow[] }>(loadConfig(), "keys.list", { workspace: opts.workspace }),
    (result) =>
      result.data.length === 0
        ? "No keys."
        : result.data
            .map((k) => `${k.id}  ${k.prefix}…  ${k.scopes.join(",").padEnd(20)} ${k.revoked_at ? "revoked" : k.expires_at ? `expires ${k.expires_at}` : "active"}${k.name ? `  (${k.name})` : ""}`)
            .join("\n"),
  );
  adminCall(
    keys.command("revoke <key-id>").description("Revoke an API key immediately"),
    (keyId) => admin<{ id: string; revoked_at: string }>(loadConfig(), "keys.revoke", { key_id: keyId }),
    (result) => `Revoked ${result.id} at ${result.revoked_at}`,
  );
  adminCall(
    withKeyUpdateOptions(keys.command("update <key-id>").description("Change a key's name, scopes, daily cap, monthly budget or allowed models (operator: bound by no key's limits)")),
    (keyId, opts) => admin<Parameters<typeof keyLimitsText>[0]>(loadConfig(), "keys.update", { key_id: keyId, ...keyUpdateBody(opts) }),
    keyLimitsText,
  );
  adminCall(
    keys.command("rotate <key-id>").description("Issue a new key; the old one keeps working until its grace period ends"),
    (keyId) => admin<{ new_key: string; new_key_id: string; old_expires_at: string }>(loadConfig(), "keys.rotate", { key_id: keyId }),
    (result) => [`New API key (shown once): ${result.new_key}`, `  key id: ${result.new_key_id}`, `  the old key stops working at ${result.old_expires_at}`].join("\n"),
  );
}
