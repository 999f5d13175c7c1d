import http from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { createHash, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor, recordTrainingVoice } from "../../src/characters/characters.ts";
import { TrainingReferenceError, fingerprintReference, trainCharacter } from "../../src/characters/train.ts";
import type { OutboundPolicy } from "../../src/net/index.ts";
import { assetIdOfLoraUrl, loraUrlFor } from "../../src/characters/lora-ref.ts";
import { solidPng } from "../../src/prisms/transform.ts";
import { applyTerminalSideEffects } from "../../src/jobs/side-effects.ts";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { backends } from "../db/backends.ts";
import { newWorkspace } from "../wallet/fixtures.ts";

describe("cursor", () => {
  it("round-trips and rejects what it did not issue", () => {
    const c = { createdAt: new Date("2026-01-02T03:04:05.678Z"), id: randomUUID() };
    expect(decodeCursor(encodeCursor(c))).toEqual(c);
    for (const bad of ["", "!!", "e30", Buffer.from('["nope","x"]').toString("base64url"), Buffer.from(`["2026-01-01T00:00:00Z","not-a-uuid"]`).toString("base64url")]) {
      expect(() => decodeCursor(bad)).toThrowError(expect.objectContaining({ code: "invalid_cursor", status: 400 }) as Error);
    }
  });
});

describe("training", () => {
  let server: http.Server;
  let base: string;
  let hits = 0;
  // The reference host is on loopback, so these tests run as an operator who allowed private networks.
  const policy: OutboundPolicy = { allowPrivateNetworks: true, timeoutMs: 2_000, maxBytes: 10 * 1024 * 1024 };
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits++;
      if (req.url === "/big") {
        res.writeHead(200, { "content-type": "image/png", "content-length": String(11 * 1024 * 1024) });
        return void res.end();
      }
      if (req.url === "/page") return void res.writeHead(200, { "content-type": "text/html" }).end("<html>secret</html>");
      if (req.url === "/fake.png") return void res.writeHead(200, { "content-type": "image/png" }).end("not really a png");
      if (req.url === "/gone.png") return void res.writeHead(404).end();
      if (req.url === "/flaky.png") return void res.writeHead(503).end();
      res.writeHead(200, { "content-type": "image/png" }).end(solidPng(10, 20, 30));
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server?.close());

  it("fingerprints a fetched PNG by its average colour only: no hash, size or content type", async () => {
    const signal = new AbortController().signal;
    const ok = await fingerprintReference(`${base}/a.png`, 0, signal, policy);
    expect(ok).toEqual({ url: `${base}/a.png`, mean_rgb: [10, 20, 30] });
  });

  it.each([
    ["/big", "fetch_too_large", false],
    ["/page", "unsupported_content_type", false],
    ["/fake.png", "unsupported_content_type", false],
    ["/gone.png", "fetch_failed", false],
    ["/flaky.png", "fetch_failed", true],
  ] as const)("a reference at %s fails with %s (retryable: %s), naming its index", async (path, code, retryable) => {
    const err = await fingerprintReference(`${base}${path}`, 2, new AbortController().signal, policy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingReferenceError);
    expect(err).toMatchObject({ index: 2, code, retryable });
    expect((err as Error).message).toMatch(/^Reference image 3 \(image_urls\[2\]\) could not be used: /);
    expect((err as Error).message).not.toContain("secret");
  });

  it("unreachable hosts, refused addresses and other schemes fail instead of training from the URL alone", async () => {
    const signal = new AbortController().signal;
    await expect(fingerprintReference("http://127.0.0.1:1/x.png", 0, signal, policy)).rejects.toMatchObject({ code: "fetch_failed", retryable: true });
    const before = hits;
    await expect(fingerprintReference(`${base}/a.png`, 0, signal)).rejects.toMatchObject({ code: "url_not_allowed", retryable: false });
    expect(hits).toBe(before);
    await expect(fingerprintReference("ftp://example.com/x.png", 0, signal, policy)).rejects.toMatchObject({ code: "url_not_allowed" });
  });

  it("is deterministic for the same references, and the artifact carries nothing that confirms the bytes", async () => {
    const input = { character_id: randomUUID(), name: "A", image_urls: [`${base}/a.png`, `data:image/png;base64,${solidPng(30, 20, 10).toString("base64")}`], voice_id: "voice_x" };
    const a = await trainCharacter(input, new AbortController().signal, async () => undefined, policy);
    const b = await trainCharacter(input, new AbortController().signal, async () => undefined, policy);
    expect(a.artifact.fingerprint).toBe(b.artifact.fingerprint);
    expect(a.artifact.mean_rgb).toEqual([20, 20, 20]);
    const text = new TextDecoder().decode(a.bytes);
    for (const png of [solidPng(10, 20, 30), solidPng(30, 20, 10)]) {
      expect(text).not.toContain(createHash("sha256").update(png).digest("hex"));
      expect(text).not.toContain(String(png.byteLength));
    }
    expect(text).not.toMatch(/sha256|content_type|"bytes"/);
  });

  it("lora refs round-trip", () => {
    const asset = randomUUID();
    expect(assetIdOfLoraUrl(loraUrlFor(asset))).toBe(asset);
  });
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`training side effects on ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    async function seed(status: "completed" | "failed" | "cancelled") {
      const ws = await newWorkspace(db);
      const character = await db.prisma.character.create({ data: { workspaceId: ws, name: "c", imageUrls: [] } });
      const job = await db.prisma.job.create({
        data: { workspaceId: ws, type: "character_train", status, operationId: "char.train_soul", provider: "aeriox", input: { voice_id: "voice_abc" }, estimatedCostMicros: 1n, characterId: character.id, deadlineAt: new Date() },
      });
      return { ws, character, job };
    }

    it("completed → ready with lora_url and voice_id; idempotent", async () => {
      const { ws, character, job } = await seed("completed");
      const asset = randomUUID();
      const terminal = { id: job.id, type: job.type, workspaceId: ws, status: "completed" as const, characterId: character.id, outputAssetIds: [asset] };
      await db.prisma.$transaction((tx) => applyTerminalSideEffects(tx, terminal));
      await db.prisma.$transaction((tx) => applyTerminalSideEffects(tx, { ...terminal, status: "failed" }));
      const row = await db.prisma.character.findUniqueOrThrow({ where: { id: character.id } });
      expect(row).toMatchObject({ status: "ready", loraUrl: `aeriox-asset://${asset}`, voiceId: "voice_abc", jobId: job.id });
    });

    it("a voice cloned by the running job is recorded in its input and becomes the character's voice; not once the job has ended", async () => {
      const ws = await newWorkspace(db);
      const character = await db.prisma.character.create({ data: { workspaceId: ws, name: "c", imageUrls: [] } });
      const job = await db.prisma.job.create({
        data: { workspaceId: ws, type: "character_train", status: "running", operationId: "char.train_local", provider: "aeriox", input: { name: "c", voice_sample_urls: ["https://x.test/a.wav"] }, estimatedCostMicros: 1n, characterId: character.id, deadlineAt: new Date() },
      });
      await recordTrainingVoice(db, job.id, "clonedVoice123");
      expect((await db.prisma.job.findUniqueOrThrow({ where: { id: job.id } })).input).toEqual({ name: "c", voice_sample_urls: ["https://x.test/a.wav"], voice_id: "clonedVoice123", voice_source: "cloned" });
      await db.prisma.job.update({ where: { id: job.id }, data: { status: "completed" } });
      await expect(recordTrainingVoice(db, job.id, "another")).rejects.toThrow(/no longer running/);
      const asset = randomUUID();
      await db.prisma.$transaction((tx) => applyTerminalSideEffects(tx, { id: job.id, type: job.type, workspaceId: ws, status: "completed", characterId: character.id, outputAssetIds: [asset] }));
      expect(await db.prisma.character.findUniqueOrThrow({ where: { id: character.id } })).toMatchObject({ status: "ready", voiceId: "clonedVoice123" });
    });

    it("failed / cancelled → failed", async () => {
      for (const status of ["failed", "cancelled"] as const) {
        const { ws, character, job } = await seed(status);
        await db.prisma.$transaction((tx) => applyTerminalSideEffects(tx, { id: job.id, type: job.type, workspaceId: ws, status, characterId: character.id, outputAssetIds: [] }));
        expect((await db.prisma.character.findUniqueOrThrow({ where: { id: character.id } })).status).toBe("failed");
      }
    });

    it("other job types are untouched", async () => {
      const { ws, character, job } = await seed("completed");
      await db.prisma.$transaction((tx) => applyTerminalSideEffects(tx, { id: job.id, type: "image", workspaceId: ws, status: "completed", characterId: character.id, outputAssetIds: [randomUUID()] }));
      expect((await db.prisma.character.findUniqueOrThrow({ where: { id: character.id } })).status).toBe("training");
    });
  });
}
