/**
 * Runs an admin command where the data lives: through the running server's local
 * admin channel when it holds the embedded database, otherwise by opening the
 * database in this process (PostgreSQL allows many processes; PGlite only one).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Config } from "@aeriox/core/config";
import { readLock } from "@aeriox/core/data-dir-lock";
import type { AdminCommandName } from "@aeriox/core/admin";
import { CommandError, UsageError } from "./output.ts";
import { dataDirSource, serveCommand } from "./invocation.ts";

/**
 * With DATA_DIR left to its default, an admin command must not create a database of its
 * own: a key made there would be rejected by the server the user started elsewhere. A
 * DATA_DIR set on purpose (a self-hoster preparing a folder, tests) may be created.
 */
function assertDatabaseExists(config: Config): void {
  if (config.databaseKind !== "pglite" || dataDirSource() === "env") return;
  if (existsSync(path.join(config.dataDir, "pgdata", "PG_VERSION"))) return;
  throw new CommandError(
    `no AERIOX database in ${config.dataDir} and no server running there: start one with \`${serveCommand()}\` (in another terminal), or set DATA_DIR to your server's data folder`,
  );
}

interface AdminEndpoint {
  url: string;
  token: string;
}

function runningServerEndpoint(config: Config): AdminEndpoint | null {
  if (config.databaseKind !== "pglite") return null;
  const holder = readLock(config.dataDir);
  if (!holder) return null;
  if (holder.role !== "server") {
    throw new CommandError(`The data folder ${config.dataDir} is in use by another aeriox ${holder.role} (pid ${holder.pid}); try again when it has finished.`);
  }
  try {
    return JSON.parse(readFileSync(path.join(config.dataDir, "admin.json"), "utf8")) as AdminEndpoint;
  } catch {
    throw new CommandError(`A server (pid ${holder.pid}) holds ${config.dataDir} but its admin channel file is missing; is it still starting?`);
  }
}

async function viaServer(endpoint: AdminEndpoint, name: string, args: Record<string, unknown>): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${endpoint.url}/_admin/${name}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${endpoint.token}` },
      body: JSON.stringify(args),
    });
  } catch (err) {
    throw new CommandError(`Cannot reach the running server's admin channel at ${endpoint.url}: ${(err as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!response.ok) {
    const message = body.error?.message ?? `admin command failed with HTTP ${response.status}`;
    // Same exit codes as when the command runs in this process (see bin.ts).
    if (body.error?.code === "invalid_request") throw new UsageError(`invalid_request: ${message}`);
    throw new CommandError(message, body.error?.code);
  }
  return body;
}

export async function runAdmin(config: Config, name: AdminCommandName, args: Record<string, unknown>): Promise<unknown> {
  const endpoint = runningServerEndpoint(config);
  if (endpoint) return viaServer(endpoint, name, args);
  assertDatabaseExists(config);
  // Loaded on use: the database stack is only needed when no server holds the data folder.
  const [{ createRuntime }, { createLogger }, { runAdminCommand }] = await Promise.all([
    import("@aeriox/core/bootstrap"),
    import("@aeriox/core/logger"),
    import("@aeriox/core/admin"),
  ]);
  const runtime = await createRuntime(config, { role: "cli", logger: createLogger({ level: "warn", destination: process.stderr }) });
  try {
    return await runAdminCommand(runtime, name, args);
  } finally {
    await runtime.close();
  }
}
