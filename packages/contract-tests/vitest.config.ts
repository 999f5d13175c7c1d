import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // The suite against our server starts its own server and database: one file at a time fits 2 cores.
    maxWorkers: 1,
  },
});
