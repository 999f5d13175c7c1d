export { runContractTests, type RunOptions, type RunResult } from "./run.ts";
export { configureContractTestCommand } from "./command.ts";
export { ResponseChecker, type Violation, type CheckName } from "./check.ts";
export { loadSpec, defaultSpecPath, type LoadedSpec, type Operation } from "./spec.ts";
export type { Coverage, OperationCoverage } from "./report.ts";
export type { Exchange } from "./client.ts";
