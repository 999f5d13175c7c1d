/**
 * Chaos helpers: a process-level HTTP client with no connection reuse (so every outcome is
 * either a response or a refusal before sending), private redis-server / TCP proxy control,
 * and the ledger audit every scenario ends with (ARCHITECTURE.md, Money and Jobs).
 */
import http from "node:http";
import net from "node:net";
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "vitest";
import { auditWallet } from "@aeriox/core/wallet/snapshot";
import type { TestServer } from "../test/harness.ts";

export interface Outcome {
  status: number | null;
  code: string | null;
  body: Record<string, unknown> | null;
  /** Transport error code (ECONNREFUSED: refused before anything was sent). */
  error: string | null;
}

/** One request on a fresh connection (agent: false): no keep-alive socket can be closed under it. */
export function call(base: string, pathname: string, o: { method?: string; key?: string; json?: unknown } = {}): Promise<Outcome> {
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
  console.log(`[chaos] ${scenario}: ${JSON.stringify(counts)}`);
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
