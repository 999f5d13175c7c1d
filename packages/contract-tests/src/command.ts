/**
 * The `contract-test` command, shared by `aeriox contract-test` and the `aeriox-contract-test` bin.
 * Exit code: 0 when every response conformed, 1 on any violation, 2 on bad usage.
 */
import { Command, InvalidArgumentError, Option } from "commander";

const positive = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number ≥ 0`);
  return n;
};

export function configureContractTestCommand(command: Command): Command {
  return command
    .description("Check a deployment against the OpenAPI contract: stateful, negative and fuzzed requests; coverage matrix, Markdown + JUnit reports")
    .requiredOption("--base-url <url>", "the deployment's base URL (e.g. http://localhost:8080)")
    .addOption(new Option("--api-key <key>", "an API key with read, generate and admin scopes").env("AERIOX_API_KEY").makeOptionMandatory())
    .option("--api-key-2 <key>", "a key of another workspace: the first workspace's ids must answer 404 with it")
    .option("--budget-usd <usd>", "never spend more than this (estimated from the price list and the 202 bodies)", positive("--budget-usd"), 1)
    .option("--report <dir>", "write contract-report.md and junit.xml here")
    .option("--spec <file>", "the OpenAPI document to check against (default: the one shipped with the suite)")
    .option("--only <tag>", "only these operations: tags or operationIds, comma-separated")
    .option("--fuzz <n>", "fast-check requests generated from the schemas", positive("--fuzz"), 0)
    .option("--seed <n>", "fuzz seed", positive("--seed"), 424242)
    .option("--allow-paid-models", "also spend through paid providers (default: local/* models only)", false)
    .option("--timeout-ms <ms>", "per-request timeout", positive("--timeout-ms"), 30_000)
    .option("--quiet", "print only the summary line", false)
    .action(async (o: { baseUrl: string; apiKey: string; apiKey2?: string; budgetUsd: number; report?: string; spec?: string; only?: string; fuzz: number; seed: number; allowPaidModels: boolean; timeoutMs: number; quiet: boolean }) => {
      // Loaded on use: `aeriox --help` does not load the validator and fast-check.
      const { runContractTests } = await import("./run.ts");
      const result = await runContractTests({
        baseUrl: o.baseUrl,
        apiKey: o.apiKey,
        ...(o.apiKey2 ? { apiKey2: o.apiKey2 } : {}),
        budgetUsd: o.budgetUsd,
        ...(o.report ? { reportDir: o.report } : {}),
        ...(o.spec ? { specFile: o.spec } : {}),
        ...(o.only ? { only: o.only } : {}),
        fuzz: o.fuzz,
        seed: o.seed,
        allowPaidModels: o.allowPaidModels,
        timeoutMs: o.timeoutMs,
        log: (line) => (o.quiet ? undefined : process.stderr.write(`contract-test: ${line}\n`)),
      });
      if (!o.quiet) process.stdout.write(result.markdown);
      const c = result.coverage;
      process.stdout.write(
        `contract-test: ${result.ok ? "PASS" : "FAIL"}: ${result.violations} violation(s); ${c.exercisedOperations}/${c.inScopeOperations} operations, ${c.exercisedStatuses}/${c.documentedStatuses} documented statuses exercised; $${result.spentUsd.toFixed(6)} spent; ${(result.durationMs / 1000).toFixed(1)} s${result.reportFiles.length ? `; reports: ${result.reportFiles.join(", ")}` : ""}\n`,
      );
      if (!result.ok) process.exitCode = 1;
    });
}
