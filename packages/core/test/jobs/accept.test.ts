/**
 * Accepting a job in one statement (docs/ARCHITECTURE.md, Money, "Hot path"): the
 * in-flight cap, the key's spend cap and the balance hold exactly under concurrency,
 * and `wallets.held_count` stays equal to the holds still held through every settlement.
 * Jobs are accepted through `submitJob` with a queue that only records ids, so nothing
 * runs and every accepted job stays in flight until the test settles it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { migrate, MIGRATIONS_DIR } from "../../src/db/migrate.ts";
import { loadConfig, type Config } from "../../src/config.ts";
import { createRuntime } from "../../src/bootstrap.ts";
import { createLogger } from "../../src/logger.ts";
import type { SubmitServices } from "../../src/jobs/submit.ts";
import { completeJob, endJobWithRefund } from "../../src/jobs/settle.ts";
import { jobError } from "../../src/jobs/states.ts";
import { capture, credit, getWalletSnapshot, release, reserve } from "../../src/wallet/index.ts";
import { auditWallet } from "../../src/wallet/snapshot.ts";
import { backends } from "../db/backends.ts";
import { ENTRY, expectConsistent, newApiKey, newWorkspace, principal, quiet, settleAll, submit, submitServices, usd } from "../wallet/fixtures.ts";

for (const backend of backends) {
  describe.skipIf(backend.skip)(`accepting jobs on ${backend.name}`, () => {
    let db: TestDatabase;
    const enqueued: string[] = [];
    let queueDown = false;

    const services = (config: Partial<Config> = {}): SubmitServices =>
      submitServices(db, {
        config,
        async enqueue(job) {
          if (queueDown) throw new Error("queue down");
          enqueued.push(job.id);
        },
      });

    async function funded(amount: bigint): Promise<string> {
      const ws = await newWorkspace(db);
      await credit(db, { workspaceId: ws, kind: "topup", amountMicros: amount, stripeEventId: `evt_${randomUUID()}` });
      return ws;
    }

    async function heldCount(ws: string): Promise<number> {
      return (await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws } })).heldCount;
    }

    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("creates the job row and its hold together, returns the row as stored, and enqueues it", async () => {
      const ws = await funded(usd(1));
      const job = await submit(services(), principal(ws));
      const stored = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
      expect(job).toEqual(stored);
      expect(job).toMatchObject({ status: "queued", workspaceId: ws, estimatedCostMicros: 100n, input: { model: "local/image", prompt: "a fox" } });
      expect(await db.prisma.hold.findUniqueOrThrow({ where: { jobId: job.id } })).toMatchObject({ status: "held", amountMicros: 100n, workspaceId: ws });
      expect(enqueued).toContain(job.id);
      expect(await heldCount(ws)).toBe(1);
      await expectConsistent(db, ws);
    });

    it("in-flight cap 10, 100 concurrent submits: exactly 10 accepted, 90 × 429 concurrency_limit, nothing else written", async () => {
      const ws = await funded(usd(10));
      const svc = services({ MAX_INFLIGHT_JOBS_PER_WORKSPACE: 10 });
      const results = await Promise.allSettled(Array.from({ length: 100 }, () => submit(svc, principal(ws))));
      const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as { status: number; code: string; headers?: Record<string, string>; message: string }] : []));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(10);
      expect(refused.map((e) => `${e.status} ${e.code}`)).toEqual(Array(90).fill("429 concurrency_limit"));
      expect(refused[0]!.headers).toMatchObject({ "retry-after": "5" });
      expect(refused[0]!.message).toBe("This workspace already has 10 jobs in flight (limit 10)");
      expect(await db.prisma.job.count({ where: { workspaceId: ws } })).toBe(10);
      expect(await db.prisma.hold.count({ where: { workspaceId: ws, status: "held" } })).toBe(10);
      expect(await heldCount(ws)).toBe(10);
      expect((await getWalletSnapshot(db, ws)).reservedMicros).toBe(1000n);
      await expectConsistent(db, ws);
    });

    it("concurrent submits to one workspace share statements: one that fails in the database fails alone, the others are accepted once", async () => {
      const ws = await funded(usd(10));
      const svc = services({ MAX_INFLIGHT_JOBS_PER_WORKSPACE: 100 });
      // jsonb refuses \u0000: that submit's statement raises (the HTTP layer refuses NUL earlier; here it stands for any error inside the statement).
      const bad = () => submit(svc, principal(ws), ENTRY.priceMicros, "a\u0000fox");
      const results = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i === 17 ? bad() : submit(svc, principal(ws)))));
      expect(results.map((r) => r.status).filter((s) => s === "rejected")).toHaveLength(1);
      expect(results[17]!.status).toBe("rejected");
      const accepted = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
      expect(new Set(accepted.map((j) => j.id)).size).toBe(39);
      expect(await db.prisma.job.count({ where: { workspaceId: ws } })).toBe(39);
      expect(await db.prisma.hold.count({ where: { workspaceId: ws, status: "held" } })).toBe(39);
      expect(await heldCount(ws)).toBe(39);
      expect((await getWalletSnapshot(db, ws)).reservedMicros).toBe(3900n);
      for (const job of accepted) expect(await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).toEqual(job);
      await expectConsistent(db, ws);
    });

    it("concurrent submits to many workspaces share statements: each workspace's balance holds exactly, and one that fails in the database fails alone", async () => {
      // 12 workspaces spread over the process's accept lanes, so submits of different workspaces go in one
      // statement; funded for 1, 2 or 3 of their 4 submits, so an answer handed to the wrong submit shows.
      const affords = Array.from({ length: 12 }, (_, i) => (i % 3) + 1);
      const workspaces = await Promise.all(affords.map((n) => funded(usd(0.1) * BigInt(n) + usd(0.05))));
      const svc = services({ MAX_INFLIGHT_JOBS_PER_WORKSPACE: 100 });
      const calls = workspaces.flatMap((ws) => Array.from({ length: 4 }, () => ws));
      const bad = calls.length - 5;
      const results = await Promise.allSettled(calls.map((ws, i) => submit(svc, principal(ws), usd(0.1), i === bad ? "a\u0000fox" : undefined)));
      expect(results[bad]).toMatchObject({ status: "rejected" });
      for (const [w, ws] of workspaces.entries()) {
        const mine = results.filter((_, i) => calls[i] === ws && i !== bad);
        const accepted = mine.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        const refused = mine.flatMap((r) => (r.status === "rejected" ? [(r.reason as { code?: string }).code] : []));
        expect(accepted).toHaveLength(Math.min(affords[w]!, mine.length));
        expect(refused).toEqual(Array(mine.length - accepted.length).fill("insufficient_funds"));
        for (const job of accepted) expect(await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).toEqual(job);
        expect(accepted.every((job) => job.workspaceId === ws)).toBe(true);
        expect(await db.prisma.job.count({ where: { workspaceId: ws } })).toBe(accepted.length);
        expect(await heldCount(ws)).toBe(accepted.length);
        await expectConsistent(db, ws);
      }
    });

    it("a settled job frees its slot: the cap counts jobs in flight, not jobs ever accepted", async () => {
      const ws = await funded(usd(1));
      const svc = services({ MAX_INFLIGHT_JOBS_PER_WORKSPACE: 2 });
      const a = await submit(svc, principal(ws));
      await submit(svc, principal(ws));
      await expect(submit(svc, principal(ws))).rejects.toMatchObject({ status: 429, code: "concurrency_limit" });
      expect(await endJobWithRefund(db, a.id, "cancelled", null)).toBe(true);
      await submit(svc, principal(ws));
      expect(await heldCount(ws)).toBe(2);
      await expectConsistent(db, ws);
    });

    it("held_count returns to 0 after every job settles, with every settlement attempted twice and concurrently", async () => {
      const ws = await funded(usd(10));
      const svc = services();
      const jobs = await Promise.all(Array.from({ length: 20 }, () => submit(svc, principal(ws))));
      expect(await heldCount(ws)).toBe(20);
      // Half complete (running first, as a worker would), half are refunded; each outcome is
      // raced by a second attempt of both kinds, through the job engine and the wallet directly.
      const completing = jobs.slice(0, 10);
      const refunding = jobs.slice(10);
      await db.prisma.job.updateMany({ where: { id: { in: completing.map((j) => j.id) } }, data: { status: "running" } });
      await Promise.all([
        ...completing.flatMap((j) => [
          completeJob(db, j.id, { actualCostMicros: 60n, durationMs: 5 }),
          completeJob(db, j.id, { actualCostMicros: 60n, durationMs: 5 }),
          capture(db, { jobId: j.id, actualMicros: 60n, logger: quiet }),
          release(db, { jobId: j.id }),
        ]),
        ...refunding.flatMap((j) => [
          endJobWithRefund(db, j.id, "failed", null),
          endJobWithRefund(db, j.id, "cancelled", null),
          release(db, { jobId: j.id }),
          release(db, { jobId: j.id }),
        ]),
      ]);
      // And once more, after everything has settled.
      for (const j of jobs) {
        expect((await release(db, { jobId: j.id })).alreadySettled).toBe(true);
        expect((await capture(db, { jobId: j.id, actualMicros: 1n })).alreadySettled).toBe(true);
      }
      expect(await heldCount(ws)).toBe(0);
      expect(await db.prisma.hold.count({ where: { workspaceId: ws, status: "held" } })).toBe(0);
      const snapshot = await getWalletSnapshot(db, ws);
      expect(snapshot.reservedMicros).toBe(0n);
      // Each job was captured or released once: never two capture entries for one job.
      const captures = await db.prisma.ledgerEntry.findMany({ where: { workspaceId: ws, kind: "capture" } });
      expect(new Set(captures.map((c) => c.jobId)).size).toBe(captures.length);
      await expectConsistent(db, ws);
    });

    it("daily spend cap $1, 50 concurrent $0.10 submits on one key: exactly 10 accepted, 40 × 402 spend_cap_exceeded", async () => {
      const ws = await funded(usd(100));
      const key = await newApiKey(db, ws, usd(1));
      const svc = services({ MAX_INFLIGHT_JOBS_PER_WORKSPACE: 1000 });
      const { ok, codes } = await settleAll(Array.from({ length: 50 }, () => submit(svc, principal(ws, key, usd(1)), usd(0.1))));
      expect(ok).toHaveLength(10);
      expect(codes).toEqual(Array(40).fill("spend_cap_exceeded"));
      expect(await db.prisma.job.count({ where: { workspaceId: ws } })).toBe(10);
      const err = await submit(svc, principal(ws, key, usd(1)), usd(0.1)).catch((e: unknown) => e);
      expect(err).toMatchObject({
        status: 402,
        code: "spend_cap_exceeded",
        details: { daily_spend_cap_usd: 1, spent_24h_usd: 1, needed_usd: 0.1, remaining_usd: 0, daily_spend_cap_micros: 1_000_000, spent_24h_micros: 1_000_000, needed_micros: 100_000, remaining_micros: 0 },
      });
      await expectConsistent(db, ws);
    });

    it("insufficient funds: 402 with needed and available, no job row; a queue that is down refunds", async () => {
      const ws = await funded(usd(0.25));
      const svc = services();
      const { ok, codes } = await settleAll(Array.from({ length: 5 }, () => submit(svc, principal(ws), usd(0.1))));
      expect(ok).toHaveLength(2);
      expect(codes).toEqual(Array(3).fill("insufficient_funds"));
      const err = await submit(svc, principal(ws), usd(0.1)).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 402, code: "insufficient_funds", details: { needed_usd: 0.1, available_usd: 0.05, needed_micros: 100_000, available_micros: 50_000 } });
      expect(await db.prisma.job.count({ where: { workspaceId: ws } })).toBe(2);

      queueDown = true;
      try {
        await expect(submit(svc, principal(ws), usd(0.05))).rejects.toMatchObject({ status: 503, code: "queue_unavailable" });
      } finally {
        queueDown = false;
      }
      expect(await heldCount(ws)).toBe(2);
      expect((await getWalletSnapshot(db, ws)).availableMicros).toBe(usd(0.05));
      // A workspace with no wallet has nothing available (its wallet is created, empty).
      const empty = await newWorkspace(db);
      await expect(submit(svc, principal(empty))).rejects.toMatchObject({ code: "insufficient_funds", details: { available_micros: 0 } });
      await expectConsistent(db, ws);
      await expectConsistent(db, empty);
    });

    /**
     * `db` behind a link the test controls. `loseAnswers`: each raw statement (the accept) runs
     * and commits, then the connection dies before its answer arrives, as when a proxy cuts it.
     * `cut`: the database cannot be reached — raw statements and transactions (the in-doubt
     * check, jobs/in-doubt.ts) fail before reaching it.
     */
    function behindLink() {
      const link = { loseAnswers: false, cut: false };
      const unreachable = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
      const prisma = new Proxy(db.prisma, {
        get(target, key) {
          if (link.cut && key === "$transaction") return () => Promise.reject(unreachable());
          const value: unknown = Reflect.get(target, key);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const query = async (...args: Parameters<TestDatabase["query"]>) => {
        if (link.cut) throw unreachable();
        const rows = await db.query(...args);
        if (link.loseAnswers) throw Object.assign(new Error("Connection terminated unexpectedly"), { code: "ECONNRESET" });
        return rows;
      };
      const flaky = Object.create(db) as TestDatabase;
      Object.defineProperties(flaky, { prisma: { value: prisma }, query: { value: query } });
      return { db: flaky, link };
    }

    /** Submits with the accept's answer lost; returns the job it committed. */
    async function acceptWithLostAnswer(svc: SubmitServices, link: { loseAnswers: boolean }, ws: string) {
      link.loseAnswers = true;
      const err = (await submit(svc, principal(ws)).catch((e) => e)) as Error;
      link.loseAnswers = false;
      expect(err.message).toMatch(/Connection terminated/);
      const [job] = await db.prisma.job.findMany({ where: { workspaceId: ws } });
      expect(job!.status).toBe("queued"); // committed, though the client was told otherwise
      expect(enqueued).not.toContain(job!.id);
      return job!;
    }

    /** The API process's runtime (`aeriox serve`) behind the link, its log lines collected, after an accept whose answer it lost. */
    async function serverWithLostAnswer() {
      const ws = await funded(usd(1));
      const before = await getWalletSnapshot(db, ws);
      const { db: flaky, link } = behindLink();
      const logs: Array<{ level: number; msg: string; jobIds?: string[] }> = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
          done();
        },
      });
      const config = loadConfig({ NODE_ENV: "test", DATA_DIR: mkdtempSync(path.join(tmpdir(), "aeriox-in-doubt-")) });
      const runtime = await createRuntime(config, { role: "server", db: flaky, migrate: false, reconciler: false, logger: createLogger({ level: "info", destination: sink }) });
      const job = await acceptWithLostAnswer(runtime, link, ws);
      return { ws, before, link, runtime, logs, job };
    }

    async function expectEndedAndRefunded(jobId: string, ws: string, before: Awaited<ReturnType<typeof getWalletSnapshot>>) {
      const settled = await db.prisma.job.findUniqueOrThrow({ where: { id: jobId } });
      expect(settled.status).toBe("failed");
      expect(settled.error).toMatchObject({ error: { code: "accept_unconfirmed" } });
      expect(await db.prisma.hold.findUniqueOrThrow({ where: { jobId } })).toMatchObject({ status: "released" });
      const after = await getWalletSnapshot(db, ws);
      expect(after.totalMicros).toBe(before.totalMicros);
      expect(after.availableMicros).toBe(before.availableMicros);
      expect(after.reservedMicros).toBe(0n);
      await expectConsistent(db, ws);
    }

    it("an accept whose answer is lost with the connection: the client is told it failed, and the committed job is ended and refunded, never run", async () => {
      const ws = await funded(usd(1));
      const before = await getWalletSnapshot(db, ws);
      const { db: lost, link } = behindLink();
      const job = await acceptWithLostAnswer({ ...services(), db: lost }, link, ws);
      let settled = job;
      for (let i = 0; i < 50 && settled.status === "queued"; i++) {
        await new Promise((r) => setTimeout(r, 100));
        settled = await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } });
      }
      await expectEndedAndRefunded(job.id, ws, before);
    });

    // A failed batch is retried one by one (accept-batch.ts); the accept is idempotent on the job id (its hold answers
    // "existing"), so a retry after a commit whose answer was lost accepts the job once. Here every answer is lost.
    it("submits that shared one accept statement whose answer is lost: each client is told it failed, and every committed job is ended and refunded, none run", async () => {
      const ws = await funded(usd(1));
      const before = await getWalletSnapshot(db, ws);
      const { db: lost, link } = behindLink();
      const svc = { ...services(), db: lost };
      link.loseAnswers = true;
      // The first goes alone; the four that arrive while it is in flight share the next statement.
      const outcomes = await Promise.allSettled(Array.from({ length: 5 }, () => submit(svc, principal(ws))));
      link.loseAnswers = false;
      for (const outcome of outcomes) expect(outcome).toMatchObject({ status: "rejected", reason: { message: expect.stringMatching(/Connection terminated/) } });
      let jobs = await db.prisma.job.findMany({ where: { workspaceId: ws } });
      expect(jobs.filter((job) => enqueued.includes(job.id))).toEqual([]);
      expect(jobs).toHaveLength(5); // all committed, though every client was told otherwise
      for (let i = 0; i < 50 && jobs.some((job) => job.status === "queued"); i++) {
        await new Promise((r) => setTimeout(r, 100));
        jobs = await db.prisma.job.findMany({ where: { workspaceId: ws } });
      }
      for (const job of jobs) await expectEndedAndRefunded(job.id, ws, before);
    });

    it("shutting down settles the in-doubt accepts it holds: closing the runtime ends the committed job and refunds it", async () => {
      const { ws, before, runtime, logs, job } = await serverWithLostAnswer();
      // Closed at once: the periodic check (a second after the failure) has not run; the close's flush settles it.
      await runtime.close();
      await expectEndedAndRefunded(job.id, ws, before);
      expect(logs.filter((l) => l.level >= 50)).toEqual([]);
    });

    it("shutting down with the database still unreachable names each in-doubt accept it could not settle, at error level", async () => {
      const { ws, before, link, runtime, logs, job } = await serverWithLostAnswer();
      link.cut = true;
      await runtime.close();
      const errors = logs.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(errors[0]!.jobIds).toEqual([job.id]);
      expect(errors[0]!.msg).toMatch(/in-doubt accepts the database did not confirm/);
      // Nothing could touch it: still queued and held, for the operator the line is for.
      expect((await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).status).toBe("queued");
      expect(await endJobWithRefund(db, job.id, "failed", jobError("accept_unconfirmed", "ended by hand"))).toBe(true);
      await expectEndedAndRefunded(job.id, ws, before);
    });

    it("auditWallet names a counter that disagrees with the holds", async () => {
      const ws = await funded(usd(1));
      await reserve(db, { workspaceId: ws, jobId: randomUUID(), amountMicros: 10n });
      await db.prisma.$executeRaw`UPDATE wallets SET held_count = 3 WHERE workspace_id = ${ws}::uuid`;
      expect((await auditWallet(db, ws)).problems).toEqual(["held_count 3 != number of open holds 1"]);
      await db.prisma.$executeRaw`UPDATE wallets SET held_count = 1 WHERE workspace_id = ${ws}::uuid`;
      await expectConsistent(db, ws);
    });

    it("a settlement never drives the counter below zero (the database refuses it)", async () => {
      const ws = await funded(usd(1));
      await expect(db.prisma.$executeRaw`UPDATE wallets SET held_count = -1 WHERE workspace_id = ${ws}::uuid`).rejects.toThrow(/wallets_held_count_nonnegative/);
    });
  });

  describe.skipIf(backend.skip)(`held_count migration on ${backend.name}`, () => {
    it("backfills the counter from the holds still held", async () => {
      // Only the migrations before the counter first, with holds in every state.
      const before = mkdtempSync(path.join(tmpdir(), "aeriox-migrations-"));
      const names = readdirSync(MIGRATIONS_DIR).filter((name) => name < "20261201000000_hot_path_accept");
      for (const name of names) cpSync(path.join(MIGRATIONS_DIR, name), path.join(before, name), { recursive: true });
      const db = await createTestDatabase({ databaseUrl: backend.databaseUrl, migrate: false });
      try {
        await migrate(db, { migrationsDir: before });
        const ws = await newWorkspace(db);
        const other = await newWorkspace(db);
        await db.prisma.$executeRaw`INSERT INTO wallets (workspace_id, balance_micros, reserved_micros) VALUES (${ws}::uuid, 1000, 30), (${other}::uuid, 1000, 0)`;
        for (const status of ["held", "held", "held", "captured", "released"]) {
          await db.prisma.$executeRawUnsafe(
            `INSERT INTO holds (job_id, workspace_id, amount_micros, status, captured_micros) VALUES ($1::uuid, $2::uuid, 10, $3::hold_status, $4::bigint)`,
            randomUUID(),
            ws,
            status,
            status === "captured" ? 0n : null,
          );
        }
        await migrate(db);
        expect((await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: ws } })).heldCount).toBe(3);
        expect((await db.prisma.wallet.findUniqueOrThrow({ where: { workspaceId: other } })).heldCount).toBe(0);
      } finally {
        await db.dispose();
      }
    });
  });
}
