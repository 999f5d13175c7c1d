/**
 * Reading `spec/aeriox.openapi.yaml`, the single source of the API. In the workspace the YAML is
 * read from the repository; the published CLI bundle sets `globalThis.__AERIOX_RESOURCES__` to its
 * `resources/` folder, which also holds `spec/aeriox.openapi.json` made from the YAML at build time
 * (packages/cli/tsup.config.ts): parsing the YAML was the largest single cost of `aeriox serve`
 * start-up (~1 s on a quiet machine; JSON.parse of the same document takes ~20 ms).
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";

// The document is untyped JSON: reading it is index access all the way down.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Schema = Record<string, any>;

/** A file shipped beside the code, by its repository-relative name. */
function resourceFile(repoPath: string): string {
  const bundled = (globalThis as { __AERIOX_RESOURCES__?: string }).__AERIOX_RESOURCES__;
  return bundled ? path.join(bundled, repoPath) : fileURLToPath(new URL(`../../../${repoPath}`, import.meta.url));
}

/** The YAML source (in the bundle: its copy under resources/). */
export const SPEC_PATH = resourceFile("spec/aeriox.openapi.yaml");
/** Only in the bundle's resources; in the workspace the YAML is read. */
export const SPEC_JSON_PATH = resourceFile("spec/aeriox.openapi.json");

/** Parses an OpenAPI document file: `.json` as JSON, anything else as YAML. */
export function readDocumentFile(file: string): Schema {
  const text = readFileSync(file, "utf8");
  return (file.endsWith(".json") ? JSON.parse(text) : parse(text)) as Schema;
}

/** Parses YAML text (for tools that hold the spec as text, e.g. the CLI bundle's build). */
export function parseSpecText(text: string): Schema {
  return parse(text) as Schema;
}

/** The spec document: the bundle's JSON copy when there is one, else the YAML. */
export function readSpecDocument(): Schema {
  if (existsSync(SPEC_JSON_PATH)) return JSON.parse(readFileSync(SPEC_JSON_PATH, "utf8")) as Schema;
  return readDocumentFile(SPEC_PATH);
}
