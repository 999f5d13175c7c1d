/**
 * Chaos helpers: a process-level HTTP client with no connection reuse (so every outcome is
 * either a response or a refusal before sending), private redis-server / TCP proxy control,
 * and the ledger audit every scenario ends with (ARCHITECTURE.md, Money and Jobs).
 */
import http from "node:http";
import net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "vitest";
import { auditWallet } from "@aeriox/core/wallet";
import type { TestServer } from "../test/harness.ts";

export interface Outcome {
  status: number | null;
  code: string | null;
  body: Record<string, unknown> | null;
  /** Transport error code (ECONNREFUSED: refused before anything was sent). */
  error: string | null;
}

/** One request on a fresh connection (agent: false): no keep-alive socket can be closed under it. */
export function call(base: string, pathname: string, o: { method?: string; key?: string; json?: unknown; timeoutMs?: number } = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const body = o.json === undefined ? undefined : JSON.stringify(o.json);
    const req = http.request(base + pathname, {
      method: o.method ?? (body ? "POST" : "GET"),
      agent: false,
      headers: { ...(o.key ? { authorization: `Bearer ${o.key}` } : {}), ...(body ? { "content-type": "application/json" } : {}) },
    });
    req.on("response", (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => {
        let parsed: Record<string, unknown> | null = null;
        try {
          parsed = JSON.parse(text) as Record<string, unknown>;
        } catch {
          /* not JSON */
        }
        const code = ((parsed?.error as { code?: string } | undefined)?.code as string | undefined) ?? null;
        resolve({ status: res.statusCode ?? null, code, body: parsed, error: null });
      });
      res.on("error", (err: NodeJS.ErrnoException) => resolve({ status: res.statusCode ?? null, code: null, body: null, error: err.code ?? err.message }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ status: null, code: null, body: null, error: err.code ?? err.message }));
    // No answer within timeoutMs: counted as "client_timeout" (a hang), never waited out.
    if (o.timeoutMs) req.setTimeout(o.timeoutMs, () => req.destroy(Object.assign(new Error("client timeout"), { code: "client_timeout" })));
    req.end(body);
  });
}

/** Counts outcomes as "202", "503 queue_unavailable", "ECONNREFUSED"… */
export function tally(outcomes: Outcome[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.error ?? `${o.status}${o.code ? ` ${o.code}` : ""}`;
    t[k] = (t[k] ?? 0) + 1;
  }
  return t;
}

/** A scenario's counts, printed with the test's output (`[chaos] …`). */
export function print(line: string): void {
  // eslint-disable-next-line no-console -- the chaos run reports its counts
  console.log(line);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 60_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

const TERMINAL = ["completed", "failed", "cancelled", "nsfw_blocked"];

/** Waits until every job of the workspace is terminal (the reconciler and workers at work). */
export async function allTerminal(srv: TestServer, workspaceId: string, timeoutMs = 120_000): Promise<void> {
  await until(
    "every job terminal",
    async () => (await srv.runtime.db.prisma.job.count({ where: { workspaceId, status: { notIn: ["completed", "failed", "cancelled", "nsfw_blocked"] } } })) === 0,
    timeoutMs,
    500,
  );
}

/**
 * The ledger audit: sum of entries = balance, held_count = open holds (auditWallet), every job
 * terminal, every hold settled exactly once (no hold `held`, at most one capture per job, a
 * completed job has exactly one). Prints and returns the counts.
 */
export async function ledgerAudit(srv: TestServer, workspaceId: string, scenario: string): Promise<Record<string, number>> {
  const prisma = srv.runtime.db.prisma;
  const audit = await auditWallet(srv.runtime.db, workspaceId);
  expect(audit.problems).toEqual([]);
  const jobs = await prisma.job.groupBy({ by: ["status"], where: { workspaceId }, _count: true });
  const byStatus = Object.fromEntries(jobs.map((j) => [j.status, j._count]));
  for (const s of Object.keys(byStatus)) expect(TERMINAL, `a job is still ${s}`).toContain(s);
  const heldHolds = await prisma.hold.count({ where: { workspaceId, status: "held" } });
  expect(heldHolds).toBe(0);
  const captures = await prisma.ledgerEntry.groupBy({ by: ["jobId"], where: { workspaceId, kind: "capture" }, _count: true });
  expect(captures.filter((c) => c._count !== 1)).toEqual([]);
  expect(captures.length).toBe(byStatus.completed ?? 0);
  const counts = { ...byStatus, captures: captures.length, held_count: audit.heldCount, balance_micros: Number(audit.balanceMicros) };
  print(`[chaos] ${scenario}: ${JSON.stringify(counts)}`);
  return counts;
}

/** A private redis-server on its own loopback port (its data goes with it: no persistence). */
export function startRedis(port: number): ChildProcess {
  return spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--maxmemory-policy", "noeviction"], { stdio: "ignore" });
}

export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  await until(
    `port ${port}`,
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve(true);
        });
        s.on("error", () => resolve(false));
      }),
    timeoutMs,
    100,
  );
}

export const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** A TCP proxy we can cut (every connection dropped, new ones refused) and restore on the same port. */
export async function tcpProxy(target: { host: string; port: number }): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const port = await freePort();
  let server: net.Server | null = null;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        sockets.add(client).add(upstream);
        const drop = () => {
          client.destroy();
          upstream.destroy();
          sockets.delete(client);
          sockets.delete(upstream);
        };
        client.on("error", drop).on("close", drop);
        upstream.on("error", drop).on("close", drop);
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const cut = async () => {
    const s = server as net.Server | null;
    server = null;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

/** Fires `fn` from `concurrency` loops until `stop()` says so; collects every outcome. */
export function load(fn: (i: number) => Promise<Outcome>, concurrency: number): { outcomes: Outcome[]; stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  let running = true;
  let n = 0;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      const o = await fn(n++);
      outcomes.push(o);
      if (o.error) await sleep(50); // refused: do not spin
    }
  });
  return {
    outcomes,
    async stop() {
      running = false;
      await Promise.all(loops);
      return outcomes;
    },
  };
}

/**
 * A load balancer's view of some API processes, as a health-checking balancer keeps it: each is
 * polled on /readyz every `everyMs` and is in rotation while the last answer was 200. `pick()`
 * round-robins over those in rotation (null: none). `seen` keeps each one's readiness answers
 * ("200", "503", "ECONNREFUSED"…) in order, without repeats.
 */
export function balancer(urls: string[], everyMs = 200): { pick(): string | null; seen: Map<string, string[]>; stop(): Promise<void> } {
  const ready = new Set<string>(urls);
  const seen = new Map(urls.map((u) => [u, ["200"]]));
  let running = true;
  let next = 0;
  const loops = urls.map(async (url) => {
    while (running) {
      const o = await call(url, "/readyz");
      const answer = o.error ?? String(o.status);
      const history = seen.get(url)!;
      if (history.at(-1) !== answer) history.push(answer);
      if (o.status === 200) ready.add(url);
      else ready.delete(url);
      await sleep(everyMs);
    }
  });
  return {
    pick() {
      const live = urls.filter((u) => ready.has(u));
      return live.length ? live[next++ % live.length]! : null;
    },
    seen,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/**
 * A connection opened now whose request is written only when `send()` is called: a client the
 * server accepted but had not heard from yet. Resolves with the status line and headers it got
 * back, or the transport error.
 */
export async function heldConnection(base: string): Promise<{ send(pathname: string, o: { key: string; json: unknown }): Promise<{ status: number | null; headers: string; body: string; error: string | null }> }> {
  const { hostname, port } = new URL(base);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  let received = "";
  let failure: string | null = null;
  socket.on("data", (d) => (received += d));
  socket.on("error", (err: NodeJS.ErrnoException) => (failure = err.code ?? err.message));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    async send(pathname, o) {
      const body = JSON.stringify(o.json);
      socket.write(
        `POST ${pathname} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${o.key}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      // The server answers and then closes (Connection: close while it drains).
      await Promise.race([closed, sleep(30_000)]);
      const [head = "", rest = ""] = received.split("\r\n\r\n");
      const status = /^HTTP\/1\.1 (\d{3})/.exec(head);
      return { status: status ? Number(status[1]) : null, headers: head, body: rest, error: status ? null : failure ?? "no response" };
    },
  };
}

/** Whether a new connection to `base` is refused (its listener closed). */
export function refuses(base: string): Promise<boolean> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const s = net.connect(Number(port), hostname, () => {
      s.destroy();
      resolve(false);
    });
    s.on("error", (err: NodeJS.ErrnoException) => resolve(err.code === "ECONNREFUSED"));
  });
}
