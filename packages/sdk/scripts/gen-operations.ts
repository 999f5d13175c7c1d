/**
 * Writes src/generated/operations.gen.ts from the spec's x-aeriox-sdk extensions (@aeriox/contract),
 * after hey-api has regenerated src/generated. An operation whose method path has no hand-written
 * method gets its generated request function bound there. Run by the root `pnpm gen` (scripts/gen.mjs).
 *
 * Two steps: first the map without spec-derived functions (so the client below can be loaded and
 * shows only its hand-written methods), then the map with the functions of the methods it lacks.
 */
import { writeFileSync } from "node:fs";
import { loadContract } from "@aeriox/contract";
import { sdkOperationsSource } from "@aeriox/contract/codegen";

const out = new URL("../src/generated/operations.gen.ts", import.meta.url);
const contract = loadContract();
writeFileSync(out, sdkOperationsSource(contract, { handWritten: () => true }));
const { Aeriox } = await import("../src/client.ts");
const { hasHandWrittenMethod } = await import("../src/operations.ts");
const client = new Aeriox({ apiKey: "unused", baseUrl: "http://127.0.0.1:9" });
writeFileSync(out, sdkOperationsSource(contract, { handWritten: (methodPath) => hasHandWrittenMethod(client, methodPath) }));
