import { describe, expect, it } from "vitest";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { openDatabase } from "../../src/db/index.ts";
import { migrate } from "../../src/db/migrate.ts";

describe("openDatabase with a data folder (PGlite on disk)", () => {
  it("keeps the data in <dataDir>/pgdata across close and reopen", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-db-"));
    try {
      const options = { databaseKind: "pglite" as const, DATABASE_URL: undefined, dataDir };
      let started = performance.now();
      const first = await openDatabase(options);
      console.log(`PGlite open (new data folder): ${(performance.now() - started).toFixed(0)} ms`);
      expect(first.kind).toBe("pglite");
      await migrate(first);
      const ws = await first.prisma.workspace.create({ data: { name: "persisted" } });
      await first.close();
      expect(existsSync(path.join(dataDir, "pgdata", "PG_VERSION"))).toBe(true);

      started = performance.now();
      const second = await openDatabase(options);
      console.log(`PGlite reopen: ${(performance.now() - started).toFixed(0)} ms`);
      try {
        expect(await migrate(second)).toEqual({ applied: [] });
        expect((await second.prisma.workspace.findUniqueOrThrow({ where: { id: ws.id } })).name).toBe("persisted");
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses databaseKind postgres without DATABASE_URL", async () => {
    await expect(openDatabase({ databaseKind: "postgres", DATABASE_URL: undefined, dataDir: "/nonexistent" })).rejects.toThrow(/DATABASE_URL/);
  });
});
