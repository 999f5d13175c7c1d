import { describe, expect, it } from "vitest";
import { cardDocument, dot, hashEmbed, LocalHashEmbedder, tokenize } from "../../src/cards/embedding.ts";

const cos = (a: string, b: string) => dot(hashEmbed(a, 256).vector, hashEmbed(b, 256).vector);

describe("local hashed embedding", () => {
  it("tokenizes case- and accent-insensitively, any script", () => {
    expect(tokenize("Crème Brûlée, 2 SPOONS!")).toEqual(["creme", "brulee", "2", "spoons"]);
    expect(tokenize("東京 タワー")).toEqual(["東京", "タワー"]);
    expect(tokenize("!!!")).toEqual([]);
  });

  it("is deterministic, L2-normalised and non-negative", () => {
    const a = hashEmbed("Red Fox Character", 256);
    expect(Array.from(a.vector)).toEqual(Array.from(hashEmbed("Red Fox Character", 256).vector));
    expect(a.vector).toHaveLength(256);
    expect(dot(a.vector, a.vector)).toBeCloseTo(1, 5);
    expect(Array.from(a.vector).every((v) => v >= 0)).toBe(true);
    expect(a.tokens).toBe(3);
    expect(Array.from(hashEmbed("", 256).vector).every((v) => v === 0)).toBe(true);
  });

  it("ranks related texts above unrelated ones", () => {
    expect(cos("red fox", "Red Fox Character")).toBeGreaterThan(cos("red fox", "Blue Whale") + 0.3);
    expect(cos("foxes", "fox")).toBeGreaterThan(cos("foxes", "whale"));
    expect(cos("the red fox", "red fox")).toBeCloseTo(1, 5); // stop-words ignored
    expect(cos("a b c", "x y z")).toBeGreaterThanOrEqual(0);
  });

  it("embeds name, description and attribute strings (not URLs)", async () => {
    const doc = cardDocument({ name: "Mira", description: null, attributes: { z: "last", a: ["first", { deep: "nested" }], n: 3, url: "https://x/y.png" } });
    expect(doc).toBe("Mira\nfirst\nnested\nlast");
    const [e] = await new LocalHashEmbedder(64).embed([doc]);
    expect(e!.vector).toHaveLength(64);
  });
});
