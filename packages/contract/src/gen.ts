/**
 * `tsx packages/contract/src/gen.ts [--spec FILE] [--out FILE]`: writes the SDK's operation map
 * (packages/sdk/src/generated/operations.gen.ts) from the spec. Run by `pnpm gen` (scripts/gen.mjs).
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { contractOf, readDocumentFile, SPEC_PATH } from "./index.ts";
import { sdkOperationsSource } from "./codegen.ts";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const spec = arg("--spec") ?? SPEC_PATH;
const out = arg("--out") ?? fileURLToPath(new URL("../../sdk/src/generated/operations.gen.ts", import.meta.url));
writeFileSync(out, sdkOperationsSource(contractOf(readDocumentFile(spec))));
