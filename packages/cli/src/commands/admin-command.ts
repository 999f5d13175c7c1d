/**
 * What the operator commands (keys, wallet, oauth-clients, oauth-keys) share: `--json`, an admin
 * operation run through a running server or on the database (admin-client.ts), and its result
 * printed as JSON or as text.
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import type { Config } from "@aeriox/core/config";
import { runAdmin } from "../admin-client.ts";
import { printResult } from "../output.ts";

/** `runAdmin` with the result typed as the operation returns it. */
export async function admin<T>(config: Config, name: Parameters<typeof runAdmin>[1], args: Record<string, unknown>): Promise<T> {
  return (await runAdmin(config, name, args)) as T;
}

function withJson<A extends unknown[], O extends OptionValues, G extends OptionValues>(cmd: Command<A, O, G>) {
  return cmd.option("--json", "print JSON");
}

type AdminFlags<O extends OptionValues> = ReturnType<ReturnType<typeof withJson<[], O, OptionValues>>["opts"]>;

/** Adds `--json` (last, as help lists it), then on run prints what `run` returns as JSON or `human(result)`. */
export function adminCall<A extends unknown[], O extends OptionValues, G extends OptionValues, R>(
  cmd: Command<A, O, G>,
  run: (...args: [...A, AdminFlags<O>]) => Promise<R>,
  human: (result: R, ...args: [...A, AdminFlags<O>]) => string,
): void {
  const command = withJson(cmd);
  command.action(async () => {
    const flags = command.opts();
    const result = await run(...command.processedArgs, flags);
    printResult(flags, result, () => human(result, ...command.processedArgs, flags));
  });
}
