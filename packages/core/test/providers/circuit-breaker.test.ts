import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Redis } from "ioredis";
import { BreakerRegistry, breakerOptionsFrom, createBreakerRegistry } from "../../src/providers/circuit-breaker.ts";
import { ProviderError } from "../../src/providers/errors.ts";
import { createProviders } from "../../src/providers/registry.ts";
import { loadConfig } from "../../src/config.ts";
import { connectRedis } from "../../src/bootstrap.ts";
import { entry, fakeContext } from "./fake-context.ts";

const serverError = () => Promise.reject(new ProviderError("server", "boom", { status: 500 }));
const clientError = () => Promise.reject(new ProviderError("client", "bad prompt", { status: 422 }));
const ok = () => Promise.resolve("ok");

function clock() {
  let now = 1_000_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

function clockedBreaker() {
  const c = clock();
  const breaker = new BreakerRegistry({ failureThreshold: 3, windowMs: 10_000, coolDownMs: 5_000, now: c.now }).breakerFor("fal");
  return { breaker, advance: c.advance };
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
    await vi.waitFor(() => expect(release).toBeTypeOf("function"));
    release();
    await trial;
    expect(breaker.state).toBe("closed");
  });

  it("a registry holds one breaker per provider name, and registries share nothing", async () => {
    const a = new BreakerRegistry({ failureThreshold: 1 });
    const b = new BreakerRegistry({ failureThreshold: 1 });
    expect(a.breakerFor("fal")).toBe(a.breakerFor("fal"));
    expect(a.breakerFor("fal")).not.toBe(a.breakerFor("elevenlabs"));
    await a.breakerFor("fal").exec(serverError).catch(() => undefined);
    expect(a.breakerFor("fal").isOpen()).toBe(true);
    expect(b.breakerFor("fal").isOpen()).toBe(false);
  });

  it("thresholds and cool-downs come from config, overridable per provider", () => {
    const config = loadConfig({ BREAKER_FAILURE_THRESHOLD: "7", BREAKER_COOLDOWN_MS: "9000", BREAKER_FAL_FAILURE_THRESHOLD: "2", BREAKER_ELEVENLABS_COOLDOWN_MS: "1000" });
    const registry = new BreakerRegistry(breakerOptionsFrom(config));
    expect(registry.policyFor("fal")).toEqual({ failureThreshold: 2, windowMs: 60_000, coolDownMs: 9000 });
    expect(registry.policyFor("elevenlabs")).toEqual({ failureThreshold: 7, windowMs: 60_000, coolDownMs: 1000 });
    expect(registry.policyFor("local")).toEqual({ failureThreshold: 7, windowMs: 60_000, coolDownMs: 9000 });
    expect(new BreakerRegistry().policyFor("fal")).toEqual({ failureThreshold: 5, windowMs: 60_000, coolDownMs: 30_000 });
  });
});

/**
 * Shared state through Redis: each registry stands for one process of a deployment (its own
 * connection, its own local view). A private redis-server, so this runs in every CI pass.
 */
describe("breaker state shared through Redis", () => {
  const port = 20000 + Math.floor(Math.random() * 20000);
  let server: ChildProcess;
  const connections: Redis[] = [];
  const registries: BreakerRegistry[] = [];
  const prefix = `breaker-test-${process.pid}`;
  const config = { ...loadConfig({ BREAKER_FAILURE_THRESHOLD: "3", BREAKER_COOLDOWN_MS: "5000" }), REDIS_PREFIX: prefix };

  beforeAll(async () => {
    server = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: "ignore" });
    await vi.waitFor(async () => (await connectRedis(`redis://127.0.0.1:${port}`)).disconnect(), { timeout: 10_000, interval: 100 });
  });
  afterAll(async () => {
    for (const r of registries) await r.close();
    for (const c of connections) c.disconnect();
    server?.kill("SIGKILL");
  });

  /** A "process": its own Redis connection and registry, on one shared clock. */
  async function processView(now: () => number): Promise<BreakerRegistry> {
    const redis = await connectRedis(`redis://127.0.0.1:${port}`);
    connections.push(redis);
    const registry = await createBreakerRegistry(config, redis, { now });
    registries.push(registry);
    return registry;
  }

  it("a worker's failures open the circuit another process checks; failures of several processes count together", async () => {
    const c = clock();
    const [worker1, worker2, api] = await Promise.all([processView(c.now), processView(c.now), processView(c.now)]);
    await worker1.breakerFor("fal").exec(serverError).catch(() => undefined);
    await worker2.breakerFor("fal").exec(serverError).catch(() => undefined);
    expect(api.breakerFor("fal").isOpen()).toBe(false);
    await worker1.breakerFor("fal").exec(serverError).catch(() => undefined);
    expect(worker1.breakerFor("fal").isOpen()).toBe(true);
    // The API process never ran fal: it learns through pub/sub.
    await vi.waitFor(() => expect(api.breakerFor("fal").isOpen()).toBe(true));
    await vi.waitFor(() => expect(worker2.breakerFor("fal").isOpen()).toBe(true));
    expect(api.breakerFor("elevenlabs").isOpen()).toBe(false);
    // A process that starts while it is open refuses at once (the state is read on start).
    const late = await processView(c.now);
    expect(late.breakerFor("fal").isOpen()).toBe(true);

    // Half-open after the cool-down: one trial across every process.
    c.advance(5_000);
    expect(api.breakerFor("fal").isOpen()).toBe(false);
    let release!: () => void;
    const trial = worker1.breakerFor("fal").exec(() => new Promise<string>((r) => (release = () => r("ok"))));
    await vi.waitFor(() => expect(release).toBeTypeOf("function")); // the lease is taken, the call is running
    await expect(worker2.breakerFor("fal").exec(ok)).rejects.toMatchObject({ code: "circuit_open" });
    release();
    await trial;
    await vi.waitFor(() => expect(api.breakerFor("fal").state).toBe("closed"));
    expect(worker2.breakerFor("fal").state).toBe("closed");
    await expect(worker2.breakerFor("fal").exec(ok)).resolves.toBe("ok");
  });

  it("a failed trial re-opens it everywhere for another cool-down", async () => {
    const c = clock();
    const [worker, api] = await Promise.all([processView(c.now), processView(c.now)]);
    for (let i = 0; i < 3; i++) await worker.breakerFor("elevenlabs").exec(serverError).catch(() => undefined);
    await vi.waitFor(() => expect(api.breakerFor("elevenlabs").isOpen()).toBe(true));
    c.advance(5_000);
    expect(api.breakerFor("elevenlabs").state).toBe("half_open");
    await worker.breakerFor("elevenlabs").exec(serverError).catch(() => undefined);
    await vi.waitFor(() => expect(api.breakerFor("elevenlabs").state).toBe("open"));
    c.advance(4_999);
    expect(api.breakerFor("elevenlabs").isOpen()).toBe(true);
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
