/** `aeriox oauth-clients …`: register and list public OAuth clients (PKCE, no secret). */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "@aeriox/core/config";
import { UsageError } from "../output.ts";
import { admin, adminCall } from "./admin-command.ts";

interface ClientView {
  client_id: string;
  name: string;
  redirect_uris: string[];
  scopes: string[];
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function describe(c: ClientView): string {
  return [`client id:     ${c.client_id}`, `  name:          ${c.name}`, `  redirect URIs: ${c.redirect_uris.join(", ")}`, `  scopes:        ${c.scopes.join(", ")}`].join("\n");
}

export function registerOAuthClients(program: Command): void {
  const clients = program.command("oauth-clients").description("Register and list OAuth clients (authorization code + PKCE)");
  adminCall(
    clients
      .command("create")
      .description("Register a public OAuth client")
      .requiredOption("--name <name>", "the name shown on the consent page")
      .requiredOption("--redirect-uri <uri>", "an exact redirect URI (https, or http on localhost/127.0.0.1); repeat for several", collect)
      .option("--scopes <list>", "comma-separated scopes the client may request: generate,read,admin", "read"),
    (opts) => {
      const scopes = opts.scopes.split(",").map((s) => s.trim()).filter(Boolean);
      if (scopes.length === 0) throw new UsageError("--scopes needs at least one of generate, read, admin");
      return admin<ClientView>(loadConfig(), "oauth-clients.create", { name: opts.name, redirect_uris: opts.redirectUri, scopes });
    },
    describe,
  );
  adminCall(
    clients.command("list").description("List registered OAuth clients"),
    () => admin<{ clients: ClientView[] }>(loadConfig(), "oauth-clients.list", {}),
    (result) => (result.clients.length ? result.clients.map(describe).join("\n") : "No OAuth clients registered."),
  );
}

/** `aeriox oauth-keys rotate`: a new access-token signing key; the old one keeps verifying its tokens until they expire. */
export function registerOAuthKeys(program: Command): void {
  adminCall(
    program
      .command("oauth-keys")
      .description("Manage the OAuth access-token signing keys (published at /v1/oauth/jwks)")
      .command("rotate")
      .description("Sign new access tokens with a new key; tokens signed before stay valid until their expiry"),
    () => admin<{ kid: string }>(loadConfig(), "oauth-keys.rotate", {}),
    (result) => `New signing key ${result.kid}; the previous key stays in the JWKS until the tokens it signed have expired.`,
  );
}
