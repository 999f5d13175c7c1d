/**
 * @aeriox/contract: the one reader of `spec/`. The server, the CLI, the MCP tools, the contract
 * tests and the code generators read the OpenAPI document and its operations from here; nothing
 * else parses the spec. Types generated from the spec: `import type { paths, operations } from "@aeriox/contract/api"`.
 */
import { readDocumentFile, readSpecDocument, type Schema } from "./document.ts";
import { operationsOf, type ContractOperation, type ReadOptions } from "./operations.ts";

export { SPEC_PATH, SPEC_JSON_PATH, parseSpecText, readDocumentFile, readSpecDocument, type Schema } from "./document.ts";
export { deref, escapePointer, pointerGet, resolveAt, resolveRefs } from "./refs.ts";
export {
  ContractError, HTTP_METHODS, operationsOf, toolName,
  type BodyInfo, type CliBinding, type ContractOperation, type HttpMethod, type JsonSchema, type ParamInfo, type ResponseInfo, type ReadOptions, type Scope, type SdkBinding,
} from "./operations.ts";

export interface Contract {
  document: Schema;
  operations: ContractOperation[];
  byId: Map<string, ContractOperation>;
}

export function contractOf(document: Schema, options?: ReadOptions): Contract {
  const operations = operationsOf(document, options);
  return { document, operations, byId: new Map(operations.map((o) => [o.operationId, o])) };
}

const cache = new Map<string, Contract>();

/** The spec (or another OpenAPI document file, e.g. `--spec`), read once per file. */
export function loadContract(file?: string): Contract {
  const key = file ?? "";
  let contract = cache.get(key);
  if (!contract) {
    contract = contractOf(file ? readDocumentFile(file) : readSpecDocument());
    cache.set(key, contract);
  }
  return contract;
}
