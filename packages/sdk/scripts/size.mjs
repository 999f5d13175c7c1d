#!/usr/bin/env node
// Prints the min+gzip size of the SDK core (the whole public entry, minified ESM) and fails the
// build when it grows past the budget.
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

// 12 kB held until the typed event stream (generated client.sse with our idle timeout, typed
// errors and bounded reconnects) and the spec-derived methods for operations without a
// hand-written one came in together (12.05 kB); the next growth should be paid for by a cut.
const BUDGET = 12.25 * 1024;
const file = new URL("../.size/index.js", import.meta.url);
const min = readFileSync(file);
const gz = gzipSync(min, { level: 9 }).length;
const kb = (n) => (n / 1024).toFixed(2) + " kB";
console.log(`@aeriox/sdk core: ${kb(min.length)} min, ${kb(gz)} min+gzip (budget ${kb(BUDGET)})`);
if (gz > BUDGET) {
  console.error("size budget exceeded");
  process.exit(1);
}
