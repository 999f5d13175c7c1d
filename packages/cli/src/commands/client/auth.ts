/** `aeriox login` / `aeriox logout`: the profile in `$XDG_CONFIG_HOME/aeriox/config.json` (0600). */
import type { Command } from "@commander-js/extra-typings";
import { Aeriox } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { profilePath, readProfile, removeProfile, resolveSettings, writeProfile } from "../../profile.ts";
import { action, output } from "./common.ts";

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) {
    process.stderr.write("Paste your API key (sk_live_…) and press Enter: ");
    const { createInterface } = await import("node:readline");
    const rl = createInterface({ input: process.stdin, terminal: false });
    try {
      for await (const line of rl) return line;
      return "";
    } finally {
      rl.close();
    }
  }
  let data = "";
  for await (const chunk of process.stdin) data += chunk;
  return data;
}

export function registerAuth(program: Command): void {
  program
    .command("login")
    .description("Store an API key (read from stdin, or --api-key) after checking it with GET /v1/me")
    .option("--api-key <key>", "the key (otherwise read from stdin, so it stays out of your shell history)")
    .option("--base-url <url>", "the API to log in to (default: AERIOX_BASE_URL, then the profile, then http://localhost:8080)")
    .option("--json", "print JSON")
    .action(
      action(async (flags) => {
        const key = (flags.apiKey ?? (await readStdin())).trim();
        if (!key) throw new UsageError("no API key given: pipe it on stdin (`aeriox login < key.txt`) or pass --api-key");
        const { baseUrl } = resolveSettings({ baseUrl: flags.baseUrl, apiKey: key });
        const me = await new Aeriox({ apiKey: key, baseUrl, maxRetries: 1 }).me();
        const file = writeProfile({ ...readProfile(), base_url: baseUrl, api_key: key });
        output(flags, { logged_in: true, base_url: baseUrl, workspace: me.workspace, key_prefix: me.api_key.prefix, profile: file }, () =>
          `Logged in to ${baseUrl} as workspace ${me.workspace.name ?? me.workspace.id} (key ${me.api_key.prefix ?? "?"}); saved to ${file}`,
        );
      }),
    );
  program
    .command("logout")
    .description("Forget the stored API key (the profile AERIOX_PROFILE selects, default `default`)")
    .option("--json", "print JSON")
    .action(
      action(async (flags) => {
        const file = profilePath();
        const removed = removeProfile();
        output(flags, { logged_out: removed, profile: file }, () => (removed ? `Removed ${file}` : `Not logged in (no ${file})`));
      }),
    );
}
