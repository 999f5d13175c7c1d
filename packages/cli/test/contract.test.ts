/**
 * The contract of the three clients: every operation of the spec has an SDK method, a CLI
 * command and an MCP tool, or an explicit, documented exclusion, all from the spec's
 * x-aeriox-* extensions (read by @aeriox/contract).
 */
import { describe, expect, it } from "vitest";
import type { CommandUnknownOpts as Command } from "@commander-js/extra-typings";
import { Aeriox, operationMethods } from "@aeriox/sdk";
import { loadSpec } from "@aeriox/server";
import { buildProgram } from "../src/program.ts";
import { commandCoverage } from "../src/commands/client/coverage.ts";
import { buildTools, mcpExclusions, toolName } from "../src/mcp/tools.ts";
import { specOperations } from "../src/commands/client/spec-ops.ts";

const operations = loadSpec().operations.map((o) => o.operationId);
const MCP_EXCLUDED = mcpExclusions();

function findCommand(root: Command, words: string[]): Command | undefined {
  let cmd: Command | undefined = root;
  for (const w of words) cmd = cmd?.commands.find((c) => c.name() === w || c.aliases().includes(w));
  return cmd;
}

describe("contract: spec ↔ SDK ↔ CLI ↔ MCP", () => {
  it("the spec has the 63 operations this table was written for", () => {
    expect(operations).toHaveLength(63);
    expect(specOperations().map((o) => o.operationId)).toEqual(operations);
  });

  it("every operation has an SDK method (operationMethods) that exists, or is the documented webhook", () => {
    const client = new Aeriox({ apiKey: "sk_live_x", baseUrl: "http://127.0.0.1:9" });
    const missing: string[] = [];
    for (const op of operations) {
      const method = (operationMethods as Record<string, string | null>)[op];
      if (method === undefined) missing.push(op);
      else if (method === null) expect(op).toBe("handleStripeWebhook");
      else {
        const fn = method.split(".").reduce<any>((o, k) => o?.[k], client);
        expect(typeof fn, `${op} → ${method}`).toBe("function");
      }
    }
    expect(missing).toEqual([]);
  });

  it("every operation has a CLI command (x-aeriox-cli); `aeriox api` only with a documented reason", () => {
    const program = buildProgram();
    const coverage = commandCoverage();
    expect(coverage.map((c) => c.operationId)).toEqual(operations);
    for (const { operationId, words, apiOnly } of coverage) {
      if (words[0] === "api") {
        expect(words[1]).toBe(operationId);
        expect(apiOnly, `${operationId} is reachable only through \`aeriox api\`: give x-aeriox-cli a command or {api-only: reason}`).toMatch(/^.{15,}$/);
      } else {
        expect(apiOnly).toBeNull();
      }
      expect(findCommand(program, words[0] === "api" ? ["api"] : words), `aeriox ${words.join(" ")}`).toBeDefined();
    }
    // The deprecated aliases have no command of their own; their reason names the canonical command.
    expect(coverage.find((c) => c.operationId === "getCredits")?.apiOnly).toMatch(/getWallet.*aeriox balance/);
  });

  it("every operation has an MCP tool or a commented exclusion; composite tools exist", () => {
    const tools = buildTools();
    const byOperation = new Map(tools.filter((t) => t.operationId).map((t) => [t.operationId!, t]));
    for (const op of operations) {
      if (op in MCP_EXCLUDED) {
        expect(MCP_EXCLUDED[op]).toMatch(/^.{15,}$/);
        expect(byOperation.has(op)).toBe(false);
      } else {
        expect(byOperation.get(op)?.name, op).toBe(toolName(op));
      }
    }
    for (const op of Object.keys(MCP_EXCLUDED)) expect(operations).toContain(op);
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["generate_image_and_wait", "wait_for_job", "estimate_cost"]));
    expect(new Set(names).size).toBe(names.length);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe("object");
      expect(JSON.stringify(t.inputSchema)).not.toContain("$ref");
      expect(t.description.length).toBeGreaterThan(10);
    }
    expect(toolName("generateImage")).toBe("generate_image");
  });
});
