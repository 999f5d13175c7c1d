/**
 * `aeriox jobs list` and `aeriox usage` as a user runs them (the real binary against a real
 * server), and the SDK's `jobs.list` auto-paging iterator and `wallet.usage`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Aeriox } from "@aeriox/sdk";
import { startTestServer, type TestServer } from "@aeriox/server/testing";
import { execFile } from "node:child_process";
import { BIN, REPO_ROOT, cliEnv, runCli } from "./run-cli.ts";

/** The binary on a terminal (util-linux `script` gives it a pty), for the human output. */
function runCliTty(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string }> {
  const quote = (a: string) => `'${a.replaceAll("'", "'\\''")}'`;
  const command = [process.execPath, BIN, ...args].map(quote).join(" ");
  return new Promise((resolve) => {
    execFile("script", ["-qec", command, "/dev/null"], { env, cwd: REPO_ROOT }, (err, stdout) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: stdout.replaceAll("\r", "") });
    });
  });
}

const SLOW = 180_000;
let server: TestServer;
let key: string;
let keyId: string;
let env: NodeJS.ProcessEnv;
const ids: string[] = [];

beforeAll(async () => {
  server = await startTestServer();
  ({ key, key_id: keyId } = await server.createKey({ workspace: "cli-jobs-usage" }));
  env = cliEnv({ AERIOX_BASE_URL: server.url, AERIOX_API_KEY: key, AERIOX_MAX_RETRIES: "0" });
  for (let i = 0; i < 5; i++) {
    const res = await server.request("/v1/images/generate", { method: "POST", key, json: { model: "local/echo", prompt: `cli ${i}` }, headers: { prefer: "wait=30" } });
    expect(res.status).toBe(200);
    ids.push(((await res.json()) as { job_id: string }).job_id);
  }
}, SLOW);
afterAll(() => server?.close());

describe("SDK", () => {
  it("jobs.list pages with for await (no duplicates) and wallet.usage reads the ledger", async () => {
    const client = new Aeriox({ apiKey: key, baseUrl: server.url, maxRetries: 0 });
    const first = await client.jobs.list({ limit: 2 });
    expect(first.data).toHaveLength(2);
    expect(first.next_cursor).toEqual(expect.any(String));
    const seen: string[] = [];
    for await (const job of client.jobs.list({ limit: 2, model: "local/echo", api_key_id: keyId })) seen.push(job.job_id);
    expect(seen).toEqual([...ids].reverse());
    const usage = await client.wallet.usage({ group_by: "model" });
    expect(usage.totals).toMatchObject({ jobs: 5, completed: 5, charges: 5 });
    expect(usage.data.map((g) => g.key)).toEqual(["local/echo"]);
  });
});

describe("aeriox jobs list / usage", () => {
  it("lists with typed filters, --all and --json", { timeout: SLOW }, async () => {
    const all = await runCli(["jobs", "list", "--all", "--limit", "2", "--status", "completed", "--since", "2020-01-01", "--json"], env);
    expect(all.code, all.stderr).toBe(0);
    const body = JSON.parse(all.stdout) as { data: Array<{ job_id: string }>; next_cursor: string | null };
    expect(body.data.map((j) => j.job_id)).toEqual([...ids].reverse());
    expect(body.next_cursor).toBeNull();

    const human = await runCliTty(["jobs", "list", "-n", "3", "--type", "image", "--model", "local/echo"], env);
    expect(human.code, human.stdout).toBe(0);
    expect(human.stdout).toMatch(/job_id\s+type\s+status/i);
    expect(human.stdout).toContain("more: --cursor");
    expect(human.stdout).toContain(ids[4]!);

    const bad = await runCli(["jobs", "list", "--status", "lost"], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/lost/);
    const badDate = await runCli(["jobs", "list", "--since", "yesterday"], env);
    expect(badDate.code).not.toBe(0);
    expect(badDate.stderr).toContain("--since");
    // --key filters by the API key's id (upper case is the same uuid); anything else is refused before a request.
    const byKey = await runCli(["jobs", "list", "--key", keyId.toUpperCase(), "--limit", "1", "--json"], env);
    expect(byKey.code, byKey.stderr).toBe(0);
    expect((JSON.parse(byKey.stdout) as { data: Array<{ job_id: string }> }).data.map((j) => j.job_id)).toEqual([ids[4]]);
    const badKey = await runCli(["jobs", "list", "--key", `urn:uuid:${keyId}`], env);
    expect(badKey.code).not.toBe(0);
    expect(badKey.stderr).toContain("--key must be an API key id");
  });

  it("prints usage as a table with a bar chart, or the response with --json", { timeout: SLOW }, async () => {
    const [json, text, byModel] = await Promise.all([
      runCli(["usage", "--json"], env),
      runCliTty(["usage", "--group-by", "type"], env),
      runCli(["usage", "-g", "model", "--from", "2020-01-01", "--to", "2020-06-01", "--json"], env),
    ]);
    expect(json.code, json.stderr).toBe(0);
    const usage = JSON.parse(json.stdout) as { totals: { jobs: number; net_micros: number }; data: Array<{ key: string }> };
    expect(usage.totals.jobs).toBe(5);
    expect(usage.totals.net_micros).toBeGreaterThan(0);
    expect(text.code, text.stdout).toBe(0);
    expect(text.stdout).toContain("image");
    expect(text.stdout).toMatch(/image\s+\|\s+#{40}/);
    expect(text.stdout).toContain("5 jobs");
    expect(byModel.code, byModel.stderr).toBe(0);
    expect(JSON.parse(byModel.stdout)).toMatchObject({ group_by: "model", data: [], totals: { jobs: 0 } });
  });
});
