/**
 * Entry of the render pool's worker threads (render-pool.ts). The CLI bundle emits it as
 * its own file beside the pool's code (packages/cli/tsup.config.ts).
 */
import type { MessagePort } from "node:worker_threads";
import { move, transferableSymbol, valueSymbol } from "piscina";
import { runRenderTask, type RenderOutput, type RenderTask } from "./render-tasks.ts";

export interface RenderMessage {
  task: RenderTask;
  /** Told when the task starts, so the pool's timeout does not count time spent queued. */
  started: MessagePort;
}

/** A failure of the task itself (say, an undecodable PNG) comes back as a value: thrown errors lose their type crossing threads. */
export type RenderReply = { output: RenderOutput } | { failure: string };

export default function render({ task, started }: RenderMessage): RenderReply {
  started.postMessage("started");
  try {
    const output = runRenderTask(task);
    const own = output.bytes.byteOffset === 0 && output.bytes.byteLength === output.bytes.buffer.byteLength ? output.bytes : output.bytes.slice();
    // Moved, not copied, back to the calling thread.
    return move({ [transferableSymbol]: [own.buffer], [valueSymbol]: { output: { ...output, bytes: own } } }) as unknown as RenderReply;
  } catch (err) {
    return { failure: err instanceof Error ? err.message : String(err) };
  } finally {
    started.close();
  }
}
