// Reads spec/aeriox.openapi.yaml for tests, with the workspace's YAML parser (`yaml`, a dependency
// of @aeriox/server; the SDK itself has no runtime dependencies and adds none for tests).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

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

const spec = parseYaml(readFileSync(new URL("../../../spec/aeriox.openapi.yaml", import.meta.url), "utf8")) as Spec;

/** Every operation of the spec: id, HTTP method (upper case) and path template. */
export const specOperations = Object.entries(spec.paths).flatMap(([path, item]) =>
  METHODS.flatMap((m) => (item[m]?.operationId ? [{ id: item[m]!.operationId!, method: m.toUpperCase(), path }] : [])),
);
