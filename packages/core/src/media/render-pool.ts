/**
 * Where CPU-bound local media work runs (ARCHITECTURE.md, Jobs, "Rendering"): a pool of
 * worker threads (piscina), so a long render never stalls the thread that answers HTTP.
 * Each task is bounded: output size (checked before dispatch), heap of its thread, and
 * wall-clock time from the moment it starts. A task over a bound fails with a
 * non-retryable ProviderError; cancelling the job's signal stops the task's thread.
 *
 * The runtime creates one pool and closes it on shutdown. `inlineRenderer` is the same
 * interface on the calling thread, for unit tests and library use without a runtime.
 */
import { fileURLToPath } from "node:url";
import { MessageChannel } from "node:worker_threads";
import path from "node:path";
import { Piscina } from "piscina";
import { loadConfig, type Config } from "../config.ts";
import { ProviderError, abortedError } from "../providers/errors.ts";
import { checkRenderLimits, runRenderTask, type RenderLimits, type RenderOutput, type RenderTask } from "./render-tasks.ts";
import type { RenderMessage, RenderReply } from "./render-worker.ts";

export type { RenderLimits, RenderOutput, RenderTask } from "./render-tasks.ts";

export interface Renderer {
  readonly limits: RenderLimits;
  render(task: RenderTask, signal: AbortSignal): Promise<RenderOutput>;
  close(): Promise<void>;
}

export interface RenderPoolOptions {
  threads: number;
  /** V8 old-generation limit of each thread. */
  maxHeapMb: number;
  /** Per task, from its start (time queued for a free thread does not count). */
  timeoutMs: number;
  limits: RenderLimits;
  /** Idle threads exit after this long; the next task starts one again. */
  idleTimeoutMs?: number;
}

export function renderPoolOptions(
  config: Pick<Config, "RENDER_THREADS" | "RENDER_MAX_HEAP_MB" | "RENDER_TIMEOUT_SECONDS" | "RENDER_MAX_PIXELS" | "RENDER_MAX_AUDIO_SECONDS">,
): RenderPoolOptions {
  return {
    threads: config.RENDER_THREADS,
    maxHeapMb: config.RENDER_MAX_HEAP_MB,
    timeoutMs: config.RENDER_TIMEOUT_SECONDS * 1000,
    limits: { maxPixels: config.RENDER_MAX_PIXELS, maxAudioSeconds: config.RENDER_MAX_AUDIO_SECONDS },
  };
}

export function createRenderPool(options: RenderPoolOptions): Renderer {
  const entry = workerEntry();
  let pool: Piscina<RenderMessage, RenderReply> | undefined;
  // Started on the first task: a process that never renders (an API in front of BullMQ) has no thread.
  // Then at least one thread stays: piscina starts a replacement for a thread it ended (abort,
  // out of memory) only up to minThreads, and a task queued behind it would otherwise wait forever.
  const openPool = () =>
    (pool ??= new Piscina<RenderMessage, RenderReply>({
      filename: entry.filename,
      ...(entry.execArgv ? { execArgv: entry.execArgv } : {}),
      minThreads: 1,
      maxThreads: options.threads,
      idleTimeout: options.idleTimeoutMs ?? 30_000,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb },
    }).on("error", () => {
      // Failures reach the task that caused them; a thread dying while idle must not become an uncaught exception.
    }));

  return {
    limits: options.limits,
    async render(task, signal) {
      checkRenderLimits(task, options.limits);
      if (signal.aborted) throw abortedError(signal);
      const timeout = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const { port1, port2 } = new MessageChannel();
      port1.once("message", () => {
        timer = setTimeout(() => timeout.abort(), options.timeoutMs);
      });
      try {
        const reply = await openPool().run({ task, started: port2 }, { transferList: [port2], signal: AbortSignal.any([signal, timeout.signal]) });
        if ("failure" in reply) throw taskFailure(reply.failure);
        return reply.output;
      } catch (err) {
        if (signal.aborted) throw abortedError(signal);
        if (timeout.signal.aborted) {
          throw new ProviderError("timeout", `Rendering exceeded its ${options.timeoutMs / 1000} s limit`, { retryable: false, code: "render_timeout" });
        }
        if ((err as { code?: string }).code === "ERR_WORKER_OUT_OF_MEMORY") {
          throw new ProviderError("client", `Rendering needed more than its ${options.maxHeapMb} MB memory limit`, { code: "render_memory_exceeded", cause: err });
        }
        if (err instanceof ProviderError) throw err;
        // The thread died for another reason (killed, crashed): a new one may well succeed.
        throw new ProviderError("server", `Rendering failed: ${(err as Error).message}`, { code: "render_failed", cause: err });
      } finally {
        clearTimeout(timer);
        port1.close();
      }
    },
    close: async () => {
      await pool?.destroy();
    },
  };
}

/** Renders on the calling thread, with the same size limits (default: the configuration's defaults) but no heap or time limit. */
export function inlineRenderer(limits: RenderLimits = renderPoolOptions(loadConfig({})).limits): Renderer {
  return {
    limits,
    async render(task, signal) {
      checkRenderLimits(task, limits);
      if (signal.aborted) throw abortedError(signal);
      try {
        return runRenderTask(task);
      } catch (err) {
        throw taskFailure((err as Error).message);
      }
    },
    close: async () => undefined,
  };
}

function taskFailure(message: string): ProviderError {
  return new ProviderError("client", `Rendering failed: ${message}`, { code: "media_processing_failed" });
}

/**
 * The worker script sits beside this module: `render-worker.ts` from source, `render-worker.js`
 * in the CLI bundle. From source the thread needs the TypeScript loader: the parent's may be
 * vitest's own transform, which does not reach worker threads, so tsx is loaded explicitly.
 */
function workerEntry(): { filename: string; execArgv?: string[] } {
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const filename = path.join(path.dirname(here), `render-worker${ext}`);
  if (ext !== ".ts") return { filename };
  let tsx: string;
  try {
    tsx = import.meta.resolve("tsx");
  } catch (err) {
    throw new Error(`Rendering from TypeScript source needs the tsx package (${(err as Error).message})`, { cause: err });
  }
  return { filename, execArgv: ["--import", tsx] };
}
