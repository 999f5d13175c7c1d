/** `aeriox me`: the calling key and its workspace (GET /v1/me). */
import type { Command } from "@commander-js/extra-typings";
import { clientCall, keyValues } from "./common.ts";

export function registerMe(program: Command): void {
  clientCall(
    program.command("me").description("The calling key and its workspace (GET /v1/me)"),
    (client) => client.me(),
    (me) => keyValues({ workspace: me.workspace.name, workspace_id: me.workspace.id, plan: me.workspace.plan, key: me.api_key.prefix, scopes: me.api_key.scopes?.join(","), daily_cap_usd: me.api_key.daily_spend_cap_usd }),
  );
}
