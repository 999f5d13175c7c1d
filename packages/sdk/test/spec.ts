// The spec's operations for tests, from @aeriox/contract (the one reader of spec/; a dev
// dependency only: the SDK itself has no runtime dependency on it).
import { loadContract } from "@aeriox/contract";

/** Every operation of the spec: id, HTTP method (upper case) and path template. */
export const specOperations = loadContract().operations.map((o) => ({ id: o.operationId, method: o.method.toUpperCase(), path: o.path }));
