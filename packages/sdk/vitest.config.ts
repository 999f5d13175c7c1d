import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 10_000,
    // live.test.ts runs against a real `aeriox serve` started here (or AERIOX_LIVE_* if set).
    globalSetup: ["test/live-server.ts"],
  },
});
