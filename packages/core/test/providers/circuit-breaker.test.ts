import { describe, expect, it } from "vitest";
import { BreakerRegistry, CircuitBreaker, breakerFor } from "../../src/providers/circuit-breaker.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import { createProviders } from "../../src/providers/registry.ts";
import { entry, fakeContext } from "./fake-context.ts";

const serverError = () => Promise.reject(new ProviderError("server", "boom", { status: 500 }));
const clientError = () => Promise.reject(new ProviderError("client", "bad prompt", { status: 422 }));
const ok = () => Promise.resolve("ok");

function clockedBreaker() {
  let now = 1_000_000;
  const breaker = new CircuitBreaker("fal", { failureThreshold: 3, windowMs: 10_000, coolDownMs: 5_000, now: () => now });
  return { breaker, advance: (ms: number) => (now += ms) };
}

describe("circuit breaker", () => {
  it("opens after N consecutive retryable failures and then fails fast with circuit_open", async () => {
    const { breaker } = clockedBreaker();
    for (let i = 0; i < 3; i++) await expect(breaker.exec(serverError)).rejects.toMatchObject({ kind: "server" });
    expect(breaker.isOpen()).toBe(true);
    let called = false;
    await expect(
      breaker.exec(async () => {
        called = true;
      }),
    ).rejects.toMatchObject({ kind: "unavailable", code: "circuit_open" });
    expect(called).toBe(false);
  });

  it("ignores client errors, resets on success, and forgets failures outside the window", async () => {
    const { breaker, advance } = clockedBreaker();
    for (let i = 0; i < 5; i++) await breaker.exec(clientError).catch(() => undefined);
    expect(breaker.state).toBe("closed");
    await breaker.exec(serverError).catch(() => undefined);
    await breaker.exec(serverError).catch(() => undefined);
    await breaker.exec(ok);
    await breaker.exec(serverError).catch(() => undefined);
    await breaker.exec(serverError).catch(() => undefined);
    expect(breaker.state).toBe("closed");
    advance(11_000);
    await breaker.exec(serverError).catch(() => undefined);
    expect(breaker.state).toBe("closed"); // the two earlier failures fell out of the window
  });

  it("half-opens after the cool-down: one trial; success closes, failure re-opens", async () => {
    const { breaker, advance } = clockedBreaker();
    for (let i = 0; i < 3; i++) await breaker.exec(serverError).catch(() => undefined);
    advance(5_000);
    expect(breaker.state).toBe("half_open");
    expect(breaker.isOpen()).toBe(false);
    await breaker.exec(serverError).catch(() => undefined);
    expect(breaker.state).toBe("open");
    advance(5_000);
    let release!: () => void;
    const trial = breaker.exec(() => new Promise<void>((r) => (release = r)));
    expect(breaker.isOpen()).toBe(true); // the one trial is in flight
    await expect(breaker.exec(ok)).rejects.toMatchObject({ code: "circuit_open" });
    release();
    await trial;
    expect(breaker.state).toBe("closed");
  });

  it("breakerFor returns one breaker per provider name", () => {
    expect(breakerFor("fal")).toBe(breakerFor("fal"));
    expect(breakerFor("fal")).not.toBe(breakerFor("elevenlabs"));
  });
});

describe("registry", () => {
  it("wraps runs with the provider's breaker: isCircuitOpen turns true after failures", async () => {
    const providers = createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry({ failureThreshold: 2 }), timeoutsMs: { local: 30 } });
    const video = entry("local/video");
    // A 30 ms wall clock on a 30 s 720p encode: a retryable timeout each time.
    const run = () => providers.forEntry(video).run({ jobId: "j", kind: "video", model: "local/video", input: { prompt: "x", duration_s: 30, resolution: "1280x720" } }, fakeContext());
    await expect(run()).rejects.toMatchObject({ kind: "timeout", retryable: true });
    expect(providers.isCircuitOpen("local")).toBe(false);
    await expect(run()).rejects.toMatchObject({ kind: "timeout" });
    expect(providers.isCircuitOpen("local")).toBe(true);
    await expect(run()).rejects.toMatchObject({ code: "circuit_open" });
    expect(providers.isCircuitOpen("fal")).toBe(false);
  });

  it("entries of the engine's own provider (training, prism) go to the aeriox adapter, which refuses bad input as a client error", async () => {
    const providers = createProviders({ FAL_KEY: undefined, ELEVENLABS_API_KEY: undefined }, { breakers: new BreakerRegistry() });
    const p = providers.forEntry(entry("aeriox/soul"));
    await expect(p.run({ jobId: "j", kind: "training", model: "aeriox/soul", input: {} }, fakeContext())).rejects.toMatchObject({ kind: "client", retryable: false, code: "invalid_training_input" });
  });
});
