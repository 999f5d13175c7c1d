/**
 * The in-process runner's scheduling, with a processor the test controls: each
 * attempt waits until the test finishes it, so the order of starts is exact.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createInProcessQueue, RetryLater } from "../../src/jobs/queue.ts";

interface Attempt {
  id: string;
  number: number;
  finish(): void;
  retry(): void;
}

function harness(options: { concurrency: number; workspaceConcurrency?: number }) {
  const started: Attempt[] = [];
  const queue = createInProcessQueue({
    ...options,
    backoffMs: 1,
    processor: (id, attempt) =>
      new Promise<void>((resolve, reject) => {
        started.push({ id, number: attempt.number, finish: resolve, retry: () => reject(new RetryLater("try again")) });
      }),
  });
  const running = () => started.filter((a) => !settled.has(a));
  const settled = new Set<Attempt>();
  const finish = async (id: string, how: "finish" | "retry" = "finish") => {
    const attempt = running().find((a) => a.id === id);
    if (!attempt) throw new Error(`${id} is not running (running: ${running().map((a) => a.id).join(", ")})`);
    settled.add(attempt);
    attempt[how]();
    await new Promise((r) => setTimeout(r, 5)); // the runner starts the next job once this one has settled
  };
  const enqueue = (workspaceId: string, n: number) =>
    Promise.all(Array.from({ length: n }, (_, i) => queue.enqueue({ id: `${workspaceId}${i + 1}`, provider: "fal", workspaceId })));
  /** Closing waits for running attempts, so finish them first. */
  const shutdown = async () => {
    const closing = queue.close();
    for (const attempt of running()) {
      settled.add(attempt);
      attempt.finish();
    }
    await closing;
  };
  return { shutdown, started: () => started.map((a) => a.id), running: () => running().map((a) => a.id), finish, enqueue };
}

let open: { shutdown(): Promise<void> } | undefined;
afterEach(async () => {
  await open?.shutdown();
  open = undefined;
});

describe("in-process runner: fair across workspaces within a lane", () => {
  it("serves waiting workspaces round-robin, whatever order their jobs arrived in", async () => {
    const q = harness({ concurrency: 1 });
    open = q;
    await q.enqueue("a", 4);
    await q.enqueue("b", 2);
    await q.enqueue("c", 2);
    for (const id of ["a1", "a2", "b1", "c1", "a3", "b2", "c2", "a4"]) {
      expect(q.running()).toEqual([id]);
      await q.finish(id);
    }
    expect(q.started()).toEqual(["a1", "a2", "b1", "c1", "a3", "b2", "c2", "a4"]);
  });

  it("holds one workspace to its cap while slots stay idle, and a newcomer takes one at once", async () => {
    const q = harness({ concurrency: 4 }); // default cap: 2
    open = q;
    await q.enqueue("a", 6);
    expect(q.running()).toEqual(["a1", "a2"]);
    await q.enqueue("b", 1);
    expect(q.running()).toEqual(["a1", "a2", "b1"]);
    await q.finish("a1");
    expect(q.running()).toEqual(["a2", "b1", "a3"]);
  });

  it("a configured cap equal to the lane lets one workspace use every slot", async () => {
    const q = harness({ concurrency: 3, workspaceConcurrency: 3 });
    open = q;
    await q.enqueue("a", 4);
    expect(q.running()).toEqual(["a1", "a2", "a3"]);
  });

  it("a retry re-enters the back of its workspace's list", async () => {
    const q = harness({ concurrency: 1 });
    open = q;
    await q.enqueue("a", 2);
    await q.enqueue("b", 1);
    await q.finish("a1", "retry");
    await new Promise((r) => setTimeout(r, 20)); // backoff
    for (const id of ["a2", "b1", "a1"]) {
      expect(q.running()).toEqual([id]);
      await q.finish(id);
    }
    expect(q.started()).toEqual(["a1", "a2", "b1", "a1"]);
  });
});
