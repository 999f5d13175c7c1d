/** Admin commands for API keys (`aeriox keys …`). */
import { z } from "zod";
import { SCOPES } from "./principal.ts";
import { usdToMicros } from "../money.ts";
import { issueApiKey } from "./key-management.ts";
import { findOrCreateWorkspace } from "./workspaces.ts";
import { defineAdminCommand } from "../admin/registry.ts";

const usd = z.number().finite().nonnegative().max(1_000_000);

export const keyAdminCommands = {
  "keys.create": defineAdminCommand({
    args: z.object({
      workspace: z.string().min(1).max(120),
      name: z.string().min(1).max(120).optional(),
      scopes: z.array(z.enum(SCOPES)).min(1).optional(),
      daily_spend_cap_usd: usd.nullable().optional(),
    }),
    async run(services, args) {
      const workspace = await findOrCreateWorkspace(services.db, args.workspace);
      const issued = await issueApiKey(services, {
        workspaceId: workspace.id,
        name: args.name ?? null,
        scopes: args.scopes,
        dailySpendCapMicros: args.daily_spend_cap_usd == null ? null : usdToMicros(args.daily_spend_cap_usd),
      });
      return { key: issued.key, key_id: issued.record.id, workspace_id: workspace.id, prefix: issued.record.prefix, scopes: issued.record.scopes };
    },
  }),
};
