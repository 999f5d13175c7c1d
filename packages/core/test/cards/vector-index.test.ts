/**
 * The one documented exception to "the migrated database equals schema.prisma"
 * (test/db/drift.test.ts): where pgvector exists, card search creates an HNSW index per
 * embedding dimension at run time (cards/embedding-queue.ts `ensureVectorIndex`), because
 * the dimension is the configured model's and unknown to a migration. On a server without
 * pgvector nothing is created.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { findSchemaDrift } from "../../src/db/drift.ts";
import { ensureVectorIndex, hasPgvector } from "../../src/cards/embedding-queue.ts";
import { backends } from "../db/backends.ts";

for (const backend of backends) {
  describe.skipIf(backend.skip)(`HNSW index of card vectors on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(() => db?.dispose());

    it("is created only where pgvector exists, and is the only drift it causes", async () => {
      await ensureVectorIndex(db, 4);
      const drift = await findSchemaDrift(db);
      if (await hasPgvector(db)) {
        expect(drift).toEqual(["index cards_embedding_hnsw_4: in the database (cards()) but not in schema.prisma"]);
      } else {
        expect(drift).toEqual([]);
      }
    });
  });
}
