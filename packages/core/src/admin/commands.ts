/**
 * Self-hoster administration. The CLI runs these directly against the database,
 * or through the running server's local admin channel when the embedded database
 * is held by that server: same code either way. Each domain module owns its
 * commands; this file only gathers them.
 */
import { ApiError } from "../errors.ts";
import { keyAdminCommands } from "../auth/key-admin.ts";
import { oauthAdminCommands } from "../auth/oauth/admin.ts";
import { walletAdminCommands } from "../wallet/admin.ts";
import type { AdminCommand, AdminServices } from "./registry.ts";

const commands: Record<string, AdminCommand> = {
  ...keyAdminCommands,
  ...oauthAdminCommands,
  ...walletAdminCommands,
};

export type AdminCommandName = keyof typeof keyAdminCommands | keyof typeof oauthAdminCommands | keyof typeof walletAdminCommands | (string & {});
export const ADMIN_COMMANDS = (): string[] => Object.keys(commands);

export async function runAdminCommand(services: AdminServices, name: string, rawArgs: Record<string, unknown>): Promise<unknown> {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw ApiError.notFound(`Admin command '${name}'`);
  const parsed = command.args.safeParse(rawArgs);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "args", message: i.message }));
    throw ApiError.badRequest("invalid_request", `Invalid arguments for ${name}: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`, { fields });
  }
  return command.run(services, parsed.data);
}
