/**
 * Search strategies on both databases: the SQL (in-database dot product) and JS
 * (bounded scan) strategies return the same ranking, and a 1,000-card benchmark
 * prints how long each takes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { createLogger } from "../../src/logger.ts";
import { hashEmbed } from "../../src/cards/embedding.ts";
import { searchCards, type SearchStrategy } from "../../src/cards/search.ts";
import { backends } from "../db/backends.ts";

const ADJECTIVES = ["red", "blue", "golden", "silent", "ancient", "neon", "frozen", "velvet", "rusty", "misty"];
const NOUNS = ["fox", "whale", "castle", "forest", "robot", "dragon", "harbour", "lantern", "violin", "desert"];
const TYPES = ["character", "style", "location", "prop", "motion"];
const CARDS = 1000;

for (const backend of backends) {
  describe.skipIf(backend.skip)(`card search on ${backend.name}`, () => {
    let db: TestDatabase;
    let workspaceId: string;
    const services = () => ({ db, logger: createLogger({ level: "silent" }) });

    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
      workspaceId = (await db.prisma.workspace.create({ data: { name: "bench" } })).id;
      const other = (await db.prisma.workspace.create({ data: { name: "other" } })).id;
      const base = Date.now() - CARDS * 1000;
      const rows = Array.from({ length: CARDS }, (_, i) => {
        const name = `${ADJECTIVES[i % 10]} ${NOUNS[Math.floor(i / 10) % 10]} ${i}`;
        const description = `card number ${i} of the library`;
        return {
          workspaceId,
          cardType: TYPES[i % TYPES.length]!,
          name,
          description,
          createdAt: new Date(base + i * 1000),
          embedding: Array.from(hashEmbed(`${name}\n${description}`, 256).vector),
        };
      });
      await db.prisma.card.createMany({ data: rows });
      await db.prisma.card.create({ data: { workspaceId: other, cardType: "prop", name: "red fox", embedding: Array.from(hashEmbed("red fox", 256).vector) } });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("both strategies agree (ranking, total, filters) and stay in the workspace", async () => {
      for (const query of [{ q: "red fox" }, { q: "golden dragon", card_type: "character", limit: 5 }, { q: "misty harbour", min_similarity: 0.4, limit: 100 }]) {
        const sql = await searchCards(services(), workspaceId, query, "sql");
        const js = await searchCards(services(), workspaceId, query, "js");
        expect(sql.items.map((i) => i.id)).toEqual(js.items.map((i) => i.id));
        expect(sql.items.map((i) => i.similarity)).toEqual(js.items.map((i) => i.similarity));
        expect(sql.total).toBe(js.total);
        expect(sql.items.length).toBeGreaterThan(0);
      }
      const fox = await searchCards(services(), workspaceId, { q: "red fox", limit: 10 });
      // The ten "red fox N" cards come first.
      expect(fox.items.map((i) => i.name.replace(/ \d+$/, ""))).toEqual(Array(10).fill("red fox"));
      expect(fox.total).toBeGreaterThan(10);
      expect(fox.total).toBeLessThanOrEqual(CARDS);
      // Only stop-words: nothing to match, no results (rather than the whole library at 0).
      expect(await searchCards(services(), workspaceId, { q: "the of and" })).toMatchObject({ items: [], total: 0, query_tokens: 3 });
    });

    it(`benchmark: ${CARDS} cards, median of 15 searches per strategy`, async () => {
      const results: Record<SearchStrategy, number> = { sql: 0, js: 0 };
      for (const strategy of ["sql", "js"] as const) {
        await searchCards(services(), workspaceId, { q: "warm up" }, strategy);
        const times: number[] = [];
        for (let i = 0; i < 15; i++) {
          const t0 = performance.now();
          await searchCards(services(), workspaceId, { q: `${ADJECTIVES[i % 10]} ${NOUNS[(i * 3) % 10]}`, limit: 20 }, strategy);
          times.push(performance.now() - t0);
        }
        times.sort((a, b) => a - b);
        results[strategy] = times[7]!;
      }
      console.log(`[cards search bench] ${backend.name}: ${CARDS} cards, median sql=${results.sql.toFixed(1)} ms, js=${results.js.toFixed(1)} ms`);
      expect(results.sql).toBeLessThan(2000);
    });
  });
}
