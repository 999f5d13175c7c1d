import { defineConfig } from "vitest/config";

/**
 * `pnpm test:chaos`: processes killed, Redis and PostgreSQL cut, a provider failing, under load
 * (packages/server/chaos). Needs PostgreSQL + Redis (DATABASE_URL, REDIS_URL); one file at a
 * time, since each starts several processes on 2 cores.
 */
export default defineConfig({
  test: {
    include: ["chaos/**/*.chaos.ts"],
    testTimeout: 180_000,
    hookTimeout: 90_000,
    fileParallelism: false,
    // The processes are the built bundle (../cli/test/run-cli.ts): rebuilt first if a source is newer.
    globalSetup: ["../../scripts/cli-bundle.mjs"],
  },
});
