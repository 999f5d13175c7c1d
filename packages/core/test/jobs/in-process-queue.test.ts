/**
 * The in-process runner's scheduling, with a processor the test controls: each
 * attempt waits until the test finishes it, so the order of starts is exact.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createInProcessQueue, UnrecoverableError } from "../../src/jobs/queue.ts";

interface Attempt {
  id: string;
  number: number;
  finish(): void;
  retry(): void;
  fail(): void;
}

function harness(options: { concurrency: number; workspaceConcurrency?: number; maxAttempts?: number }) {
  const started: Attempt[] = [];
  const errors: string[] = [];
  const queue = createInProcessQueue({
    ...options,
    backoffMs: 1,
    onError: (id) => errors.push(id),
    processor: (id, attempt) =>
      new Promise<void>((resolve, reject) => {
        started.push({ id, number: attempt.number, finish: resolve, retry: () => reject(new Error("try again")), fail: () => reject(new UnrecoverableError("give up")) });
      }),
  });
  const running = () => started.filter((a) => !settled.has(a));
  const settled = new Set<Attempt>();
  const finish = async (id: string, how: "finish" | "retry" | "fail" = "finish") => {
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
  return { shutdown, started: () => started.map((a) => a.id), running: () => running().map((a) => a.id), finish, enqueue, errors: () => errors, queue };
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

describe("in-process runner: BullMQ's retry convention", () => {
  it("retries a thrown error until the last attempt, then reports it", async () => {
    const q = harness({ concurrency: 1, maxAttempts: 3 });
    open = q;
    await q.enqueue("a", 1);
    for (let n = 0; n < 3; n++) {
      await new Promise((r) => setTimeout(r, 20)); // backoff
      expect(q.running()).toEqual(["a1"]);
      await q.finish("a1", "retry");
    }
    await new Promise((r) => setTimeout(r, 20));
    expect(q.started()).toEqual(["a1", "a1", "a1"]);
    expect(q.running()).toEqual([]);
    expect(q.errors()).toEqual(["a1"]);
    expect(await q.queue.holds({ id: "a1", provider: "fal", workspaceId: "a" })).toBe(false);
  });

  it("an UnrecoverableError fails at once, with attempts left", async () => {
    const q = harness({ concurrency: 1, maxAttempts: 3 });
    open = q;
    await q.enqueue("a", 2);
    await q.finish("a1", "fail");
    await new Promise((r) => setTimeout(r, 20));
    expect(q.errors()).toEqual(["a1"]);
    expect(q.running()).toEqual(["a2"]);
    await q.finish("a2");
    await new Promise((r) => setTimeout(r, 20));
    expect(q.started()).toEqual(["a1", "a2"]);
  });
});
