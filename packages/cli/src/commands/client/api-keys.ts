/**
 * `aeriox api-keys create | list | update | revoke | rotate`: the workspace's API keys through the
 * API (admin scope; the operator's `aeriox keys` works on the database directly).
 */
import type { Command } from "@commander-js/extra-typings";
import { keyFlagsBody, keyLimitsText, keyUpdateBody, withKeyUpdateOptions } from "../key-update-flags.ts";
import { clientCall, table } from "./common.ts";

export function registerApiKeys(program: Command): void {
  const apiKeys = program.command("api-keys").description("Manage the workspace's API keys through the API (admin scope)");
  clientCall(
    withKeyUpdateOptions(
      apiKeys
        .command("create")
        .description("Create a key with its limits (omitted: the calling key's); its secret is shown once (POST /v1/api-keys)")
        .option("--daily-cap <usd>", "daily spend cap in USD (as --daily-cap-usd)"),
    ),
    (client, flags) => client.apiKeys.create(keyFlagsBody({ ...flags, dailyCapUsd: flags.dailyCapUsd ?? flags.dailyCap })),
    (res) =>
      [
        res.key,
        `(shown once; key id ${res.key_id}, scopes ${res.scopes.join(",")}, ` +
          `daily cap ${res.daily_spend_cap_usd === null ? "none" : `$${res.daily_spend_cap_usd}`}, ` +
          `monthly budget ${res.monthly_budget_usd === null ? "none" : `$${res.monthly_budget_usd}`}, ` +
          `models ${res.allowed_models === null ? "all" : res.allowed_models.join(",")})`,
      ].join("\n"),
  );
  clientCall(
    apiKeys.command("list").description("Keys of the workspace, metadata only (GET /v1/api-keys)"),
    (client) => client.apiKeys.list(),
    (res) => table(res.data.map((k) => ({ ...k, scopes: k.scopes.join(",") })), ["id", "prefix", "name", "scopes", "revoked_at"]),
  );
  clientCall(
    withKeyUpdateOptions(
      apiKeys
        .command("update")
        .description("Change a key's name, scopes, daily cap, monthly budget or allowed models (PATCH /v1/api-keys/{id})")
        .argument("<id>", "key id"),
    ),
    (client, id, flags) => client.apiKeys.update(id, keyUpdateBody(flags)),
    (res) => keyLimitsText(res),
  );
  clientCall(
    apiKeys.command("revoke").description("Revoke a key now (DELETE /v1/api-keys/{id})").argument("<id>", "key id"),
    (client, id) => client.apiKeys.revoke(id),
    (res) => `revoked ${res.prefix}`,
  );
  clientCall(
    apiKeys.command("rotate").description("Rotate a key; the old one keeps working for a grace period (POST /v1/api-keys/{id}/rotate)").argument("<id>", "key id"),
    (client, id) => client.apiKeys.rotate(id),
    (res) => `${res.new_key}\n(shown once; new key id ${res.new_key_id})`,
  );
}
