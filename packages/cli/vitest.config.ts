import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
    maxWorkers: 1,
    // Files share the worker's module graph (the server harness, core, …) instead of re-importing it:
    // import was ~95 s per run, ~23 s with this. The CLI itself runs in spawned processes, and the
    // modules imported in-process (program, MCP tools) keep no state between files.
    isolate: false,
    // The tests spawn the built bundle (test/run-cli.ts): rebuilt first if a source is newer.
    globalSetup: ["../../scripts/cli-bundle.mjs"],
  },
});
