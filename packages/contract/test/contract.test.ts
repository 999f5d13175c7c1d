// The contract's reading of the spec: every operation declares its client bindings, deprecated
// aliases get their reasons from x-aeriox-alias-of, and a document without them is refused
// (or read leniently for tools that take any OpenAPI document).
import { describe, expect, it } from "vitest";
import { contractOf, ContractError, loadContract, readDocumentFile, SPEC_PATH, toolName } from "../src/index.ts";
import { sdkOperationsSource } from "../src/codegen.ts";

describe("@aeriox/contract", () => {
  const contract = loadContract();

  it("reads every operation of the spec with its bindings", () => {
    expect(contract.operations.length).toBeGreaterThan(50);
    for (const op of contract.operations) {
      expect(op.operationId).toMatch(/^[a-z][A-Za-z]+$/);
      expect("method" in op.sdk || op.sdk.exclude.length >= 15, op.operationId).toBe(true);
      expect("command" in op.cli || op.cli.apiOnly.length >= 15, op.operationId).toBe(true);
    }
    expect(contract.byId.get("generateImage")).toMatchObject({ method: "post", path: "/v1/images/generate", scope: "generate", sdk: { method: "images.generate" }, cli: { command: "image" }, mcpExcluded: null, priced: ["image."] });
    expect(contract.byId.get("oauthToken")?.cli).toMatchObject({ apiOnly: expect.stringMatching(/OAuth/) });
    expect(contract.byId.get("oauthToken")?.mcpExcluded).toMatch(/OAuth/);
  });

  it("derives a deprecated alias's CLI and MCP reasons from x-aeriox-alias-of, naming the canonical command and tool", () => {
    const credits = contract.byId.get("getCredits")!;
    expect(credits.deprecated).toBe(true);
    expect(credits.sdk).toEqual({ method: "credits.get" });
    expect(credits.cli).toEqual({ apiOnly: "deprecated legacy alias of getWallet; use `aeriox balance`" });
    expect(credits.mcpExcluded).toMatch(/only the canonical tool get_wallet is offered/);
  });

  it("dereferences parameters, bodies and responses", () => {
    const getJob = contract.byId.get("getJob")!;
    expect(getJob.params).toEqual([expect.objectContaining({ name: "id", in: "path", required: true })]);
    const image = contract.byId.get("generateImage")!;
    expect(image.body?.contentType).toBe("application/json");
    expect(JSON.stringify(image.body)).not.toContain("$ref");
    expect(JSON.stringify(getJob.responses)).not.toContain("$ref");
  });

  it("refuses an operation without x-aeriox-sdk / x-aeriox-cli, unless read leniently", () => {
    const doc = readDocumentFile(SPEC_PATH);
    delete doc.paths["/v1/me"].get["x-aeriox-cli"];
    expect(() => contractOf(doc)).toThrow(ContractError);
    expect(() => contractOf(doc)).toThrow(/getMe .*x-aeriox-cli/);
    expect(contractOf(doc, { strict: false }).byId.get("getMe")?.cli).toMatchObject({ apiOnly: expect.stringMatching(/not declared/) });
  });

  it("generates the SDK's operation map", () => {
    const source = sdkOperationsSource(contract);
    expect(source).toContain('generateImage: "images.generate",');
    expect(source).toContain("handleStripeWebhook: null,");
    expect(toolName("getOAuthConsent")).toBe("get_o_auth_consent");
  });
});
