/** `aeriox migrate`: apply pending database migrations and exit. */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "@aeriox/core/config";
import { readLock } from "@aeriox/core/data-dir-lock";
import { printResult, CommandError } from "../output.ts";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("Apply pending database migrations")
    .option("--json", "print JSON")
    .action(async (opts) => {
      const config = loadConfig();
      const holder = config.databaseKind === "pglite" ? readLock(config.dataDir) : null;
      if (holder?.role === "server") {
        // The running server migrated the database when it started.
        printResult(opts, { applied: [], note: "server running; migrations were applied at its start" }, () => "A server holds the data folder; it applied all migrations at start-up.");
        return;
      }
      const [{ createRuntime }, { createLogger }, { migrate }] = await Promise.all([import("@aeriox/core/bootstrap"), import("@aeriox/core/logger"), import("@aeriox/core/db")]);
      const runtime = await createRuntime(config, { role: "cli", migrate: false, logger: createLogger({ level: "warn", destination: process.stderr }) });
      try {
        const { applied } = await migrate(runtime.db);
        printResult(opts, { applied }, () => (applied.length ? `Applied: ${applied.join(", ")}` : "Database is up to date."));
      } catch (err) {
        throw new CommandError(`Migration failed: ${(err as Error).message}`);
      } finally {
        await runtime.close();
      }
    });
}
