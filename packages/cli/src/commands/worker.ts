/** `aeriox worker`: a BullMQ job worker process (needs REDIS_URL). */
import type { Command } from "@commander-js/extra-typings";
import { loadConfig } from "@aeriox/core/config";
import { exitOnSignals } from "../shutdown.ts";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("Run queued jobs from Redis/BullMQ (start as many as you need)")
    .action(async () => {
      const config = loadConfig();
      const { startWorker } = await import("@aeriox/worker");
      const worker = await startWorker(config);
      process.stdout.write(`AERIOX worker running (pid ${process.pid})\n`);
      // Graceful: running jobs finish within the timeout or are left to another worker (worker/src/index.ts).
      exitOnSignals((timeoutMs) => worker.stop({ timeoutMs }), { timeoutSeconds: config.SHUTDOWN_TIMEOUT_SECONDS, say: (line) => process.stdout.write(`${line}\n`) });
    });
}
