/**
 * The accept statement alone (ARCHITECTURE.md, Money, "Hot path"), without HTTP: the
 * former interactive transaction (workspace lock, COUNT of jobs in flight, job insert,
 * wallet lock, hold insert: 8 round trips) against the one `aeriox_accept_job` statement,
 * sent through Prisma's driver adapter and through the raw driver (`Database.query`).
 * Sequential latency, then 50 concurrent accepts on one workspace. A private database
 * (PGlite in memory, or a random-named one on DATABASE_URL's loopback server), dropped
 * at the end. Run: `npx tsx scripts/bench-accept.ts` in packages/core
 * (`DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres` for PostgreSQL).
 */
import { randomUUID } from "node:crypto";
import { createTestDatabase, type TestDatabase } from "../src/db/testing.ts";
import { ACCEPT_SQL } from "../src/jobs/submit.ts";

const SEQUENTIAL = Number(process.env.BENCH_ACCEPTS ?? 300);
const CONCURRENT = 50;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);

const url = process.env.DATABASE_URL;
if (url && !["127.0.0.1", "localhost", "::1", "[::1]"].includes(new URL(url).hostname)) throw new Error("loopback only");
const db: TestDatabase = await createTestDatabase({ databaseUrl: url });
const ws = (await db.prisma.workspace.create({ data: { name: "bench" } })).id;
await db.prisma.$executeRaw`INSERT INTO wallets (workspace_id, balance_micros) VALUES (${ws}::uuid, 1000000000000)`;
const deadline = new Date(Date.now() + 3_600_000);
const input = JSON.stringify({ model: "local/image", prompt: "bench" });

const params = () => [randomUUID(), ws, null, "image", "local/image", "image.local/image", "local", input, 100n, null, null, deadline, null, 1_000_000, null] as const;

type Accept = () => Promise<unknown>;
const variants: Array<[string, Accept]> = [
  [
    "before: interactive transaction (Prisma)",
    () =>
      db.prisma.$transaction(async (tx) => {
        const id = randomUUID();
        await tx.$queryRaw`SELECT id FROM workspaces WHERE id = ${ws}::uuid FOR UPDATE`;
        await tx.job.count({ where: { workspaceId: ws, status: { in: ["queued", "running"] } } });
        await tx.job.create({ data: { id, workspaceId: ws, type: "image", status: "queued", model: "local/image", operationId: "image.local/image", provider: "local", input: JSON.parse(input) as object, estimatedCostMicros: 100n, deadlineAt: deadline } });
        await tx.$queryRaw`SELECT balance_micros, reserved_micros FROM wallets WHERE workspace_id = ${ws}::uuid FOR UPDATE`;
        await tx.hold.findUnique({ where: { jobId: id } });
        await tx.$queryRaw`UPDATE wallets SET reserved_micros = reserved_micros + 100, updated_at = now() WHERE workspace_id = ${ws}::uuid AND balance_micros - reserved_micros >= 100 RETURNING balance_micros`;
        await tx.hold.create({ data: { jobId: id, workspaceId: ws, amountMicros: 100n } });
      }),
  ],
  ["after: one statement via Prisma $queryRawUnsafe", () => db.prisma.$queryRawUnsafe(ACCEPT_SQL, ...params())],
  ["after: one statement via Database.query (raw)", () => db.query(ACCEPT_SQL, [...params()])],
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

try {
  console.log(`accept on ${db.kind}: ${SEQUENTIAL} sequential, then ${CONCURRENT} concurrent × 4; median of ${ROUNDS} interleaved rounds\n`);
  for (const [, fn] of variants) for (let i = 0; i < 20; i++) await fn(); // warm-up: plans, pool
  const seq = new Map<string, number[]>();
  const conc = new Map<string, number[]>();
  // Interleaved rounds: a machine shared with other work drifts; each variant sees the same drift.
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of variants) {
      let t = performance.now();
      for (let i = 0; i < SEQUENTIAL / ROUNDS; i++) await fn();
      seq.set(name, [...(seq.get(name) ?? []), (performance.now() - t) / (SEQUENTIAL / ROUNDS)]);
      t = performance.now();
      for (let batch = 0; batch < 4; batch++) await Promise.all(Array.from({ length: CONCURRENT }, fn));
      conc.set(name, [...(conc.get(name) ?? []), (4 * CONCURRENT) / ((performance.now() - t) / 1000)]);
    }
  }
  console.log("variant".padEnd(50) + "ms/accept (seq)".padStart(17) + "accepts/s (50 conc.)".padStart(22));
  for (const [name] of variants) console.log(name.padEnd(50) + median(seq.get(name)!).toFixed(2).padStart(17) + median(conc.get(name)!).toFixed(0).padStart(22));
} finally {
  await db.dispose();
}
