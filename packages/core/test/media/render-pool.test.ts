import { afterAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { PNG } from "pngjs";
import { createRenderPool, inlineRenderer, renderPoolOptions, type Renderer, type RenderTask } from "../../src/media/render-pool.ts";
import { runRenderTask } from "../../src/media/render-tasks.ts";
import { renderProceduralPng } from "../../src/media/procedural-png.ts";
import { loadConfig } from "../../src/config.ts";
import { isProviderError, type ProviderError } from "../../src/providers/errors.ts";

const roomy = { maxPixels: 64_000_000, maxAudioSeconds: 1_000_000 };
const pools: Renderer[] = [];
function pool(options: Partial<Parameters<typeof createRenderPool>[0]> = {}): Renderer {
  const p = createRenderPool({ threads: 1, maxHeapMb: 256, timeoutMs: 120_000, limits: roomy, ...options });
  pools.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

const never = () => new AbortController().signal;
const big: RenderTask = { kind: "procedural_png", prompt: "a long render", seed: 1, width: 2048, height: 2048 };
const small: RenderTask = { kind: "procedural_png", prompt: "small", seed: 2, width: 32, height: 32 };

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isProviderError(err), String(err)).toBe(true);
  return err as ProviderError;
}

/** Timer ticks the calling thread runs between starting `work` and its end. */
async function ticksDuring(work: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

describe("render pool", () => {
  it("renders off the calling thread: its event loop keeps turning during a long render", async () => {
    const p = pool();
    await p.render(small, never()); // the thread is up: what follows measures the render, not the start
    expect(await ticksDuring(() => p.render(big, never()))).toBeGreaterThanOrEqual(3);
    // The same render on the calling thread lets no timer run until it is done.
    expect(await ticksDuring(() => inlineRenderer(roomy).render(big, never()))).toBe(0);
  });

  it("gives the same outputs as rendering in place", async () => {
    const p = pool();
    const source = renderProceduralPng("source", 3, 120, 80);
    const tasks: RenderTask[] = [
      { kind: "procedural_png", prompt: "a red fox", seed: 7, width: 256, height: 144 },
      { kind: "tone_speech", text: "Hello, wörld 🦊\tand more" },
      { kind: "tone_speech", text: "" },
      { kind: "png_transform", png: source, ops: [{ op: "sepia" }, { op: "vignette", strength: 0.6 }, { op: "posterize", levels: 4 }] },
    ];
    for (const task of tasks) {
      const off = await p.render(task, never());
      const here = runRenderTask(task);
      expect(Buffer.from(off.bytes).equals(Buffer.from(here.bytes)), task.kind).toBe(true);
      expect({ ...off, bytes: null }).toEqual({ ...here, bytes: null });
    }
    expect(source.byteLength).toBeGreaterThan(0); // the input was copied to the thread, not taken from the caller
  });

  it("refuses a task over the size limits before it runs, as a non-retryable output_too_large", async () => {
    const p = pool({ limits: { maxPixels: 1_000_000, maxAudioSeconds: 10 } });
    const image = await failure(p.render({ ...small, width: 1024, height: 1024 }, never()));
    expect([image.code, image.retryable, image.kind]).toEqual(["output_too_large", false, "client"]);
    expect(image.message).toContain("1024x1024");
    const speech = await failure(p.render({ kind: "tone_speech", text: "x".repeat(200) }, never()));
    expect([speech.code, speech.retryable]).toEqual(["output_too_large", false]);
    expect(speech.message).toContain("10 s");
    const huge = new PNG({ width: 2000, height: 1000 });
    const transform = await failure(p.render({ kind: "png_transform", png: PNG.sync.write(huge), ops: [{ op: "grayscale" }] }, never()));
    expect(transform.code).toBe("output_too_large");
    // Exactly at the limit is allowed.
    expect((await p.render({ ...small, width: 1000, height: 1000 }, never())).width).toBe(1000);
  });

  it("fails a task over its thread's heap limit with render_memory_exceeded, then keeps rendering", async () => {
    const p = pool({ maxHeapMb: 64 });
    // Every character of a long CJK text becomes its own heap string: far more than 64 MB.
    const err = await failure(p.render({ kind: "tone_speech", text: "漢".repeat(3_000_000) }, never()));
    expect([err.code, err.retryable]).toEqual(["render_memory_exceeded", false]);
    expect(err.message).toContain("64 MB");
    expect((await p.render(small, never())).width).toBe(32);
  });

  it("fails a task past its time limit with a non-retryable render_timeout, then keeps rendering", async () => {
    const p = pool({ timeoutMs: 50 });
    await p.render(small, never());
    const err = await failure(p.render({ ...big, width: 4096, height: 4096 }, never()));
    expect([err.code, err.retryable, err.kind]).toEqual(["render_timeout", false, "timeout"]);
    expect((await p.render(small, never())).width).toBe(32);
  });

  it("aborts a running task when the job's signal fires, then keeps rendering", async () => {
    const p = pool();
    await p.render(small, never());
    const abort = new AbortController();
    const rendering = p.render({ ...big, width: 4096, height: 4096 }, abort.signal);
    await sleep(50);
    abort.abort(new Error("job cancelled"));
    const err = await failure(rendering);
    expect([err.code, err.retryable]).toEqual(["aborted", false]);
    expect((await p.render(small, never())).width).toBe(32);
    const already = new AbortController();
    already.abort(new Error("cancelled before"));
    expect((await failure(p.render(small, already.signal))).code).toBe("aborted");
  });

  it("runs a task that waited behind an aborted or failed one", async () => {
    const p = pool({ maxHeapMb: 64 });
    await p.render(small, never());
    const abort = new AbortController();
    const running = p.render({ ...big, width: 4096, height: 4096 }, abort.signal);
    const waiting = p.render(small, never()); // one thread: this one queues
    await sleep(50);
    abort.abort(new Error("job cancelled"));
    expect((await failure(running)).code).toBe("aborted");
    expect((await waiting).width).toBe(32);

    const crashing = p.render({ kind: "tone_speech", text: "漢".repeat(3_000_000) }, never());
    const behind = p.render(small, never());
    expect((await failure(crashing)).code).toBe("render_memory_exceeded");
    expect((await behind).width).toBe(32);
  });

  it("reports an input it cannot decode as media_processing_failed", async () => {
    const p = pool();
    expect((await failure(p.render({ kind: "png_transform", png: new Uint8Array([1, 2, 3]), ops: [] }, never()))).code).toBe("media_processing_failed");
    const truncated = renderProceduralPng("cut", 1, 64, 64).subarray(0, 60);
    const err = await failure(p.render({ kind: "png_transform", png: truncated, ops: [{ op: "grayscale" }] }, never()));
    expect([err.code, err.retryable]).toEqual(["media_processing_failed", false]);
  });

  it("takes its limits from the configuration", () => {
    const options = renderPoolOptions(
      loadConfig({ RENDER_THREADS: "3", RENDER_MAX_HEAP_MB: "128", RENDER_TIMEOUT_SECONDS: "9", RENDER_MAX_PIXELS: "2000000", RENDER_MAX_AUDIO_SECONDS: "30" }),
    );
    expect(options).toEqual({ threads: 3, maxHeapMb: 128, timeoutMs: 9000, limits: { maxPixels: 2_000_000, maxAudioSeconds: 30 } });
    expect(renderPoolOptions(loadConfig({})).threads).toBeGreaterThanOrEqual(1);
    expect(() => loadConfig({ RENDER_MAX_HEAP_MB: "1" })).toThrow(/RENDER_MAX_HEAP_MB/);
  });
});
