/** `aeriox worker`: a BullMQ job worker process (needs REDIS_URL). */
import type { Command } from "commander";
import { loadConfig } from "@aeriox/core/config";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("Run queued jobs from Redis/BullMQ (start as many as you need)")
    .action(async () => {
      const config = loadConfig();
      const { startWorker } = await import("@aeriox/worker");
      const worker = await startWorker(config);
      process.stdout.write(`AERIOX worker running (pid ${process.pid})\n`);
      const shutdown = () => {
        worker.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once("SIGINT", shutdown);
      process.once("SIGTERM", shutdown);
    });
}
