/**
 * Without an explicit key the client falls back to AERIOX_API_KEY, then to the profile
 * `aeriox login` stores. The profile is written here by the CLI's own writer, so a change
 * of the file's format on either side fails this test.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { writeProfile } from "../../cli/src/profile.ts";
import { Aeriox, AuthenticationError } from "../src/index.ts";

const VARS = ["AERIOX_API_KEY", "AERIOX_BASE_URL", "AERIOX_PROFILE", "XDG_CONFIG_HOME"] as const;
let saved: Record<string, string | undefined>;
let config: string;

beforeEach(() => {
  saved = Object.fromEntries(VARS.map((v) => [v, process.env[v]]));
  for (const v of VARS) delete process.env[v];
  config = mkdtempSync(path.join(tmpdir(), "aeriox-sdk-profile-"));
  process.env.XDG_CONFIG_HOME = config;
});

afterEach(() => {
  for (const v of VARS) {
    if (saved[v] === undefined) delete process.env[v];
    else process.env[v] = saved[v];
  }
  rmSync(config, { recursive: true, force: true });
});

describe("credentials from the aeriox login profile", () => {
  it("uses the default profile's key and base URL when nothing else is given", () => {
    writeProfile({ api_key: "sk_live_from_profile", base_url: "http://profile.example:9000/" }, { XDG_CONFIG_HOME: config });
    const client = new Aeriox();
    expect(client.apiKey).toBe("sk_live_from_profile");
    expect(client.baseUrl).toBe("http://profile.example:9000");
  });

  it("AERIOX_PROFILE selects a named profile; the default one stays untouched", () => {
    writeProfile({ api_key: "sk_live_default", base_url: "http://default.example" }, { XDG_CONFIG_HOME: config });
    writeProfile({ api_key: "sk_live_staging", base_url: "http://staging.example" }, { XDG_CONFIG_HOME: config, AERIOX_PROFILE: "staging" });
    process.env.AERIOX_PROFILE = "staging";
    expect(new Aeriox()).toMatchObject({ apiKey: "sk_live_staging", baseUrl: "http://staging.example" });
    process.env.AERIOX_PROFILE = "default";
    expect(new Aeriox()).toMatchObject({ apiKey: "sk_live_default", baseUrl: "http://default.example" });
    process.env.AERIOX_PROFILE = "missing";
    expect(new Aeriox().apiKey).toBeUndefined();
  });

  it("the environment wins over the profile, and an explicit option over both", () => {
    writeProfile({ api_key: "sk_live_from_profile", base_url: "http://profile.example" }, { XDG_CONFIG_HOME: config });
    process.env.AERIOX_API_KEY = "sk_live_from_env";
    expect(new Aeriox()).toMatchObject({ apiKey: "sk_live_from_env", baseUrl: "http://profile.example" });
    process.env.AERIOX_BASE_URL = "http://env.example";
    expect(new Aeriox()).toMatchObject({ apiKey: "sk_live_from_env", baseUrl: "http://env.example" });
    expect(new Aeriox({ apiKey: "sk_live_option", baseUrl: "http://option.example" })).toMatchObject({ apiKey: "sk_live_option", baseUrl: "http://option.example" });
  });

  it("no profile, or an unreadable one, means no key: calls that need one say how to get one", async () => {
    expect(new Aeriox().apiKey).toBeUndefined();
    mkdirSync(path.join(config, "aeriox"), { recursive: true });
    writeFileSync(path.join(config, "aeriox/config.json"), "{not json");
    const client = new Aeriox({ baseUrl: "http://127.0.0.1:9" });
    expect(client.apiKey).toBeUndefined();
    await expect(client.wallet.get()).rejects.toThrow(AuthenticationError);
    await expect(client.wallet.get()).rejects.toThrow(/AERIOX_API_KEY.*aeriox login/);
  });
});
