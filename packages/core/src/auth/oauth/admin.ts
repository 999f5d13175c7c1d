/** Admin commands for OAuth clients (`aeriox oauth-clients …`). */
import { z } from "zod";
import { defineAdminCommand } from "../../admin/registry.ts";
import { SCOPES } from "../principal.ts";
import { createOAuthClient, listOAuthClients } from "./clients.ts";
import { rotateSigningKey } from "./signing-keys.ts";

export const oauthAdminCommands = {
  "oauth-clients.create": defineAdminCommand({
    args: z.object({
      name: z.string().min(1).max(120),
      redirect_uris: z.array(z.string().min(1).max(2000)).min(1).max(20),
      scopes: z.array(z.enum(SCOPES)).min(1),
    }),
    async run(services, args) {
      const client = await createOAuthClient(services.db.prisma, { name: args.name, redirectUris: args.redirect_uris, scopes: args.scopes });
      return { client_id: client.client_id, name: client.name, redirect_uris: client.redirect_uris, scopes: client.scopes };
    },
  }),
  "oauth-clients.list": defineAdminCommand({
    args: z.object({}),
    async run(services) {
      return { clients: await listOAuthClients(services.db.prisma) };
    },
  }),
  "oauth-keys.rotate": defineAdminCommand({
    args: z.object({}),
    async run(services) {
      const key = await rotateSigningKey(services.db);
      return { kid: key.kid };
    },
  }),
};
