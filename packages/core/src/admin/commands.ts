/**
 * Self-hoster administration, one function per command. The CLI runs these
 * directly against the database, or through the running server's local admin
 * channel when the embedded database is held by that server: same code either way.
 * Arguments and results are plain JSON.
 */
import { z } from "zod";
import { ApiError } from "../errors.ts";
import type { Runtime } from "../runtime.ts";
import { SCOPES } from "../auth/principal.ts";
import { usdToMicros } from "../money.ts";
import { issueApiKey } from "../auth/key-management.ts";
import { findOrCreateWorkspace } from "../auth/workspaces.ts";

type AdminServices = Pick<Runtime, "db" | "config" | "logger">;

const usd = z.number().finite().nonnegative().max(1_000_000);

const commands = {
  "keys.create": {
    args: z.object({
      workspace: z.string().min(1).max(120),
      name: z.string().min(1).max(120).optional(),
      scopes: z.array(z.enum(SCOPES)).min(1).optional(),
      daily_spend_cap_usd: usd.nullable().optional(),
    }),
    async run(services: AdminServices, args: { workspace: string; name?: string; scopes?: (typeof SCOPES)[number][]; daily_spend_cap_usd?: number | null }) {
      const workspace = await findOrCreateWorkspace(services.db, args.workspace);
      const issued = await issueApiKey(services, {
        workspaceId: workspace.id,
        name: args.name ?? null,
        scopes: args.scopes,
        dailySpendCapMicros: args.daily_spend_cap_usd == null ? null : usdToMicros(args.daily_spend_cap_usd),
      });
      return { key: issued.key, key_id: issued.record.id, workspace_id: workspace.id, prefix: issued.record.prefix, scopes: issued.record.scopes };
    },
  },
} as const;

export type AdminCommandName = keyof typeof commands;
export const ADMIN_COMMANDS = Object.keys(commands) as AdminCommandName[];

export async function runAdminCommand(services: AdminServices, name: string, rawArgs: Record<string, unknown>): Promise<unknown> {
  const command = (commands as Record<string, { args: z.ZodTypeAny; run(s: AdminServices, a: unknown): Promise<unknown> }>)[name];
  if (!command) throw ApiError.notFound(`Admin command '${name}'`);
  const parsed = command.args.safeParse(rawArgs);
  if (!parsed.success) {
    const fields = parsed.error.issues.map((i) => ({ field: i.path.join(".") || "args", message: i.message }));
    throw ApiError.badRequest("invalid_request", `Invalid arguments for ${name}: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`, { fields });
  }
  return command.run(services, parsed.data);
}
