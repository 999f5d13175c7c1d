import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";
import { PROVIDERS } from "../src/providers/descriptors.ts";
import { breakerOptionsFrom } from "../src/providers/circuit-breaker.ts";

describe("loadConfig", () => {
  it("defaults to the embedded setup", () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(8080);
    expect(config.databaseKind).toBe("pglite");
    expect(config.queueKind).toBe("inprocess");
    expect(config.dataDir.endsWith(".aeriox")).toBe(true);
    expect(config.publicUrl).toBe("http://localhost:8080");
    expect(config.responseValidation).toBe(true);
  });

  it("switches to PostgreSQL and BullMQ when their URLs are set", () => {
    const config = loadConfig({ DATABASE_URL: "postgresql://u@127.0.0.1:5432/db", REDIS_URL: "redis://127.0.0.1:6379" });
    expect(config.databaseKind).toBe("postgres");
    expect(config.queueKind).toBe("bullmq");
  });

  it("turns response validation off by default in production only", () => {
    expect(loadConfig({ NODE_ENV: "production" }).responseValidation).toBe(false);
    expect(loadConfig({ NODE_ENV: "production", RESPONSE_VALIDATION: "true" }).responseValidation).toBe(true);
  });

  it.each([
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["DATABASE_URL", "mysql://x"],
    ["REDIS_URL", "not a url"],
    ["STRIPE_SECRET_KEY", "pk_test_123"],
    ["STRIPE_WEBHOOK_SECRET", "secret"],
    ["LOG_LEVEL", "loud"],
    ["RESPONSE_VALIDATION", "maybe"],
  ])("names %s when it is invalid (%s)", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^Invalid environment variable ${name}: `));
  });

  it("accepts BREAKER_<PROVIDER>_* for every provider of the descriptor table, and names a bad one", () => {
    const env = Object.fromEntries(PROVIDERS.flatMap((p, i) => [[`BREAKER_${p.toUpperCase()}_FAILURE_THRESHOLD`, String(i + 2)], [`BREAKER_${p.toUpperCase()}_COOLDOWN_MS`, String(1000 * (i + 1))]]));
    const { perProvider } = breakerOptionsFrom(loadConfig(env));
    expect(perProvider).toEqual(Object.fromEntries(PROVIDERS.map((p, i) => [p, { failureThreshold: i + 2, coolDownMs: 1000 * (i + 1) }])));
    expect(() => loadConfig({ BREAKER_ELEVENLABS_COOLDOWN_MS: "5" })).toThrow(/^Invalid environment variable BREAKER_ELEVENLABS_COOLDOWN_MS: /);
  });

  it("treats empty variables as unset", () => {
    expect(loadConfig({ DATABASE_URL: "" }).databaseKind).toBe("pglite");
  });
});
