// The spec is the source of truth: every operationId it declares must have an SDK method, and the
// table must not name operations the spec no longer has.
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Aeriox, operationMethods } from "../src/index.ts";
import { notExposed } from "../src/operations.ts";
import { specOperations } from "./spec.ts";

const specOps = specOperations.map((o) => o.id);

describe("operation coverage", () => {
  it("the spec declares operations", () => expect(specOps.length).toBeGreaterThan(20));

  it.each(specOps)("%s has an SDK method", (op) => {
    const path = (operationMethods as Record<string, string | null>)[op];
    expect(path, `add ${op} to src/operations.ts`).not.toBeUndefined();
    if (path === null) {
      expect((notExposed as Record<string, string>)[op], `${op} is null: give a reason in notExposed`).toBeTruthy();
      return;
    }
    const client = new Aeriox({ apiKey: "x" }) as unknown as Record<string, unknown>;
    const parts = path!.split(".");
    const owner = parts.slice(0, -1).reduce<Record<string, unknown>>((o, k) => o[k] as Record<string, unknown>, client);
    expect(owner[parts.at(-1)!], `${path} is not a method`).toBeTypeOf("function");
  });

  it("the table has no stale entries", () => {
    expect(Object.keys(operationMethods).filter((op) => !specOps.includes(op))).toEqual([]);
  });

  it("generated code is runtime-neutral (fetch only, no Node built-ins)", () => {
    const dir = new URL("../src/", import.meta.url);
    const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"));
    for (const f of files) {
      const src = readFileSync(new URL(f, dir), "utf8");
      expect(src, f).not.toMatch(/from\s+["'](node:|fs|path|http|https|crypto|buffer|stream)["']/);
      expect(src, f).not.toMatch(/\brequire\(/);
      expect(src, f).not.toMatch(/\bBuffer\./);
    }
  });
});
