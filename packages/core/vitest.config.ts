import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 90_000,
    maxWorkers: 1,
    // Files share the worker's module graph (Prisma's client and query compiler, pg, PGlite, the AWS
    // SDK…) instead of each importing it again: 117 s → 62 s per embedded run, 151 s → 69 s on
    // PostgreSQL. Safe because no test mocks modules or stubs globals or the environment, and the
    // state core's modules keep is caches of files that do not change (catalog, prisms, previews, the
    // migrated PGlite template), Stripe clients per key, or is reset by its test (useFfmpegBinary in
    // ffmpeg-binary.test.ts); msw servers listen in beforeAll (or on creation) and close in afterAll.
    // A new test file must leave no process-wide state behind (close what it opens, undo what it sets).
    isolate: false,
  },
});
