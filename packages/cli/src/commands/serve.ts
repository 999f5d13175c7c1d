/** `aeriox serve`: the API server (and the in-process job runner on the embedded default). */
import { createServer } from "node:net";
import type { Command } from "@commander-js/extra-typings";
import type { AppOptions } from "@aeriox/server";
import { loadConfig, type Config } from "@aeriox/core/config";
import { CommandError } from "../output.ts";
import { commandName, serveCommand } from "../invocation.ts";
import { exitOnSignals } from "../shutdown.ts";

function portBusy(config: Config, port = config.PORT): CommandError {
  return new CommandError(`port ${port} on ${config.HOST} is already in use (another aeriox serve?); stop it, or set PORT, e.g. PORT=${port + 1} ${serveCommand()}`);
}

/**
 * Fails fast, before the database is opened and migrated, when the port is taken. The
 * probe's socket is closed at once; a process that grabs the port in between still gets
 * the same one-line message from the real listen (see the action below).
 */
async function assertPortFree(config: Config): Promise<void> {
  if (config.PORT === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EADDRINUSE") reject(portBusy(config));
      else if (err.code === "EACCES") reject(new CommandError(`not allowed to listen on port ${config.PORT} (ports below 1024 need privileges); set PORT, e.g. PORT=8080`));
      else reject(err);
    });
    probe.listen({ port: config.PORT, host: config.HOST, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Run the API server (migrates the database first)")
    .option("-p, --port <port>", "port to listen on (env PORT, default 8080)")
    .action(async (opts) => {
      const config = loadConfig(opts.port ? { ...process.env, PORT: opts.port } : process.env);
      await assertPortFree(config);
      const say = (line: string) => process.stdout.write(`${line}\n`);
      // Loaded on use: client commands should not pay for the server's import graph.
      const { startServer } = await import("@aeriox/server");
      // MCP over streamable HTTP at /mcp (same tools as `aeriox mcp`), acting with each request's key or OAuth token.
      let port = 0;
      const { mountMcp: mount } = await import("../mcp/mount.ts");
      const mountMcp: NonNullable<AppOptions["extraRoutes"]> = (app) => mount(app, { publicUrl: () => config.publicUrl, apiBaseUrl: () => `http://127.0.0.1:${port}` });
      const cmd = commandName();
      let running: Awaited<ReturnType<typeof startServer>>;
      try {
        running = await startServer(config, {
          app: { extraRoutes: mountMcp },
          // A first start creates and migrates the database: seconds of silence otherwise.
          onProgress: (step, detail) => say(step === "opening" ? `aeriox: opening ${detail}…` : `aeriox: migrating (${detail})…`),
        });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") throw portBusy(config);
        throw err;
      }
      port = running.port;
      const storage = config.databaseKind === "pglite" ? `embedded database in ${config.dataDir}` : "PostgreSQL";
      const queue = config.queueKind === "bullmq" ? `BullMQ (run workers with \`${cmd} worker\`)` : "in-process job runner";
      process.stdout.write(
        [
          `AERIOX API listening on ${running.url}  (${storage}; ${queue})`,
          `  Reference: ${running.url}/docs`,
          `  Spec:      ${running.url}/openapi.json`,
          `  MCP:       ${running.url}/mcp (streamable HTTP; or \`${cmd} mcp\` on stdio)`,
          `  Health:    ${running.url}/healthz`,
          "",
          `Leave this running (Ctrl-C stops it). In a second terminal:`,
          `  ${cmd} keys create --workspace my-workspace     # prints an API key`,
          "",
        ].join("\n"),
      );
      // Graceful: drain (/readyz 503, SHUTDOWN_DRAIN_MS), refuse new connections, finish requests in flight, then close jobs, pool, Redis, database (server/src/serve.ts).
      exitOnSignals((timeoutMs) => running.stop({ timeoutMs }), { timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS, say });
    });
}
