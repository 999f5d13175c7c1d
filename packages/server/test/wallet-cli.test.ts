/**
 * `aeriox wallet show|credit` as a self-hoster runs them: the real binary, spawned,
 * against its own embedded data folder (or, with DATABASE_URL, a private PostgreSQL
 * database). The ledger must add up after every adjustment.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase } from "@aeriox/core/testing";
import { cliEnv, runCli, type CliResult } from "../../cli/test/run-cli.ts";

const dataDir = mkdtempSync(path.join(tmpdir(), "aeriox-wallet-cli-"));
let pg: Awaited<ReturnType<typeof createTestDatabase>> | null = null;
let env: NodeJS.ProcessEnv;

type View = { workspace_id: string; balance: { total_usd: number; available_usd: number; total_micros: number }; recent_transactions: Array<{ kind: string; amount_micros: number; description: string | null }>; entry_id?: string };
const json = (r: CliResult): View => {
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as View;
};
const ledgerAddsUp = (v: View) => expect(v.recent_transactions.reduce((s, t) => s + t.amount_micros, 0)).toBe(v.balance.total_micros);

beforeAll(async () => {
  if (process.env.DATABASE_URL) {
    pg = await createTestDatabase();
    env = cliEnv({ DATA_DIR: dataDir, DATABASE_URL: pg.url, REDIS_URL: undefined });
  } else {
    env = cliEnv({ DATA_DIR: dataDir, DATABASE_URL: undefined, REDIS_URL: undefined });
  }
  const created = await runCli(["keys", "create", "--workspace", "wallet-cli", "--json"], env);
  expect(created.code, created.stderr).toBe(0);
}, 120_000);
afterAll(async () => {
  await pg?.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("aeriox wallet", () => {
  it("show: balance, trial entry, auto-recharge off", async () => {
    const v = json(await runCli(["wallet", "show", "--workspace", "wallet-cli", "--json"], env));
    expect(v.balance.total_usd).toBe(5);
    expect(v.recent_transactions.map((t) => t.kind)).toEqual(["trial"]);
    expect((v as unknown as { auto_recharge: { enabled: boolean } }).auto_recharge.enabled).toBe(false);
    ledgerAddsUp(v);
  }, 60_000);

  it("credit: positive and negative adjustments with a reason; never below the available balance", async () => {
    const up = json(await runCli(["wallet", "credit", "--workspace", "wallet-cli", "--usd", "12.5", "--reason", "goodwill", "--json"], env));
    expect(up.balance.total_usd).toBe(17.5);
    expect(up.entry_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(up.recent_transactions[0]).toMatchObject({ kind: "adjustment", amount_micros: 12_500_000, description: "goodwill" });
    ledgerAddsUp(up);

    const down = json(await runCli(["wallet", "credit", "--workspace", up.workspace_id, "--usd", "-2.250001", "--json"], env));
    expect(down.balance.total_micros).toBe(15_249_999);
    ledgerAddsUp(down);

    const tooMuch = await runCli(["wallet", "credit", "--workspace", "wallet-cli", "--usd", "-1000", "--json"], env);
    // A refusal by the wallet is an API error: exit 1 (bad arguments are 2).
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.stderr).toContain("adjustment_exceeds_available");

    // Refused by the CLI before any database is opened, so these can run side by side.
    const bads = ["0", "1.1234567", "abc", "100001"];
    const results = await Promise.all(bads.map((usd) => runCli(["wallet", "credit", "--workspace", "wallet-cli", "--usd", usd], env)));
    results.forEach((bad, i) => expect(bad.code, `${bads[i]}: ${bad.stderr}`).toBe(2));
    const missing = await runCli(["wallet", "show", "--workspace", "no-such-workspace", "--json"], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("not_found");
    const after = json(await runCli(["wallet", "show", "--workspace", "wallet-cli", "--json"], env));
    expect(after.balance.total_micros).toBe(15_249_999);
    ledgerAddsUp(after);
  }, 120_000);
});
