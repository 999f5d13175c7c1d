import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each file starts its own server and database; two at a time fits 2 cores.
    maxWorkers: 2,
    // Files share a worker's module graph instead of each re-importing core, server, prisma, the AWS
    // SDK… (import was ~380 s of CPU per run, ~30 s with this). Safe because the state those modules
    // keep is caches of files that do not change (spec, catalog, prisms) or is set per runtime
    // (useFfmpegBinary in createRuntime); metrics registries are per runtime; each file's msw server
    // listens in beforeAll and closes in afterAll, and s3-server.ts unstubs its env when the last
    // bucket closes. A new test file must leave no process-wide state behind (close what it opens).
    isolate: false,
    // Tests that spawn `aeriox` run the built bundle (../cli/test/run-cli.ts): rebuilt first if a source is newer.
    globalSetup: ["../../scripts/cli-bundle.mjs"],
  },
});
