export { runContractTests, type RunOptions, type RunResult } from "./run.ts";
export { configureContractTestCommand } from "./command.ts";
export { ResponseChecker, type Violation, type CheckName } from "./check.ts";
export { loadSpec, defaultSpecPath, deref, type LoadedSpec, type Operation, type Schema } from "./spec.ts";
export { valueArb, textArb, normalize, type ValueOptions } from "./values.ts";
export type { Coverage, OperationCoverage } from "./report.ts";
export type { Exchange } from "./client.ts";
