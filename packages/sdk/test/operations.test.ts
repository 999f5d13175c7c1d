// The spec is the source of truth: every operationId it declares must have an SDK method, and the
// table must not name operations the spec no longer has.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { Aeriox, operationMethods } from "../src/index.ts";
import { notExposed } from "../src/operations.ts";

const specPath = new URL("../../../spec/aeriox.openapi.yaml", import.meta.url);

/** Loads the workspace's YAML parser (`yaml`, a dependency of @aeriox/server) without adding a dependency here. */
function parseYaml(text: string): unknown {
  const from = [new URL("../../server/package.json", import.meta.url), new URL("../../../package.json", import.meta.url)];
  for (const base of from) {
    try {
      const { parse } = createRequire(base)("yaml") as { parse: (t: string) => unknown };
      return parse(text);
    } catch {
      // try the next location
    }
  }
  throw new Error("no YAML parser found in the workspace (expected `yaml` under packages/server)");
}

type Spec = { paths: Record<string, Record<string, { operationId?: string }>> };
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

const spec = parseYaml(readFileSync(specPath, "utf8")) as Spec;
const specOps = Object.values(spec.paths).flatMap((item) =>
  METHODS.flatMap((m) => (item[m]?.operationId ? [item[m]!.operationId!] : [])),
);

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
