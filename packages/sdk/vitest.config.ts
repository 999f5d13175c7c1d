import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 10_000,
    // live.test.ts runs against a real `aeriox serve` started here (or AERIOX_LIVE_* if set), from
    // the CLI bundle, which cli-bundle.mjs first rebuilds if a source is newer (in this order).
    globalSetup: ["../../scripts/cli-bundle.mjs", "test/live-server.ts"],
  },
});
