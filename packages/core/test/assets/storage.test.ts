/**
 * The asset store's configuration, the Range rules both stores share, and the
 * local store's streamed writes (S3 is exercised against a real S3-protocol
 * server in packages/server/test/assets-s3.test.ts).
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { resolveRange } from "../../src/assets/range.ts";
import { createLocalAssetStorage, StoredObjectMissingError } from "../../src/assets/storage.ts";

describe("asset store configuration", () => {
  it("defaults to the local store", () => {
    const config = loadConfig({});
    expect(config.ASSET_STORE).toBe("local");
    expect(config.S3_REGION).toBe("us-east-1");
    expect(config.S3_PRESIGNED_DOWNLOADS).toBe(false);
  });

  it("ASSET_STORE=s3 without S3_BUCKET stops start-up naming the variable", () => {
    expect(() => loadConfig({ ASSET_STORE: "s3" })).toThrow(ConfigError);
    expect(() => loadConfig({ ASSET_STORE: "s3" })).toThrow("S3_BUCKET: required when ASSET_STORE=s3");
  });

  it("presigned downloads without the S3 store are refused rather than silently ignored", () => {
    expect(() => loadConfig({ S3_PRESIGNED_DOWNLOADS: "true" })).toThrow("S3_PRESIGNED_DOWNLOADS");
  });

  it("reads the S3 settings", () => {
    const config = loadConfig({ ASSET_STORE: "s3", S3_BUCKET: "assets", S3_ENDPOINT: "http://127.0.0.1:9000", S3_REGION: "eu-west-3", S3_FORCE_PATH_STYLE: "true", S3_PRESIGNED_DOWNLOADS: "1" });
    expect(config).toMatchObject({ ASSET_STORE: "s3", S3_BUCKET: "assets", S3_ENDPOINT: "http://127.0.0.1:9000", S3_REGION: "eu-west-3", S3_FORCE_PATH_STYLE: true, S3_PRESIGNED_DOWNLOADS: true });
    expect(() => loadConfig({ ASSET_STORE: "gcs" })).toThrow("ASSET_STORE");
    expect(() => loadConfig({ ASSET_STORE: "s3", S3_BUCKET: "bucket1", S3_ENDPOINT: "minio:9000" })).toThrow("S3_ENDPOINT");
  });
});

describe("resolveRange", () => {
  const size = 100;
  it.each([
    [undefined, { kind: "full" }],
    ["bytes=0-9", { kind: "partial", range: { start: 0, end: 9 } }],
    ["bytes=90-", { kind: "partial", range: { start: 90, end: 99 } }],
    ["bytes=-10", { kind: "partial", range: { start: 90, end: 99 } }],
    ["bytes=-1000", { kind: "partial", range: { start: 0, end: 99 } }],
    ["bytes=50-5000", { kind: "partial", range: { start: 50, end: 99 } }],
    ["bytes=99-99", { kind: "partial", range: { start: 99, end: 99 } }],
    ["BYTES= 1 - 2", { kind: "partial", range: { start: 1, end: 2 } }],
    ["bytes=100-", { kind: "unsatisfiable" }],
    ["bytes=100-200", { kind: "unsatisfiable" }],
    ["bytes=-0", { kind: "unsatisfiable" }],
    ["bytes=5-1", { kind: "full" }],
    ["bytes=-", { kind: "full" }],
    ["bytes=0-1,4-5", { kind: "full" }],
    ["items=0-1", { kind: "full" }],
    ["bytes=abc", { kind: "full" }],
    ["bytes=1234567890123456-", { kind: "full" }],
  ])("%s", (header, expected) => {
    expect(resolveRange(header, size)).toEqual(expected);
  });

  it("any range of an empty asset is unsatisfiable", () => {
    expect(resolveRange("bytes=0-", 0)).toEqual({ kind: "unsatisfiable" });
    expect(resolveRange("bytes=-5", 0)).toEqual({ kind: "unsatisfiable" });
  });
});

describe("local store", () => {
  const root = mkdtempSync(path.join(tmpdir(), "aeriox-assets-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const storage = createLocalAssetStorage(root);
  const drain = async (stream: Readable) => {
    const parts: Buffer[] = [];
    for await (const p of stream) parts.push(p as Buffer);
    return Buffer.concat(parts);
  };

  it("putStream writes every chunk, reports the size, and leaves no temp file", async () => {
    const chunks = Array.from({ length: 5 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const { size } = await storage.putStream("ws/job/0-a.bin", Readable.from(chunks), "application/octet-stream");
    expect(size).toBe(5 * 64 * 1024);
    expect(Buffer.from(await storage.read("ws/job/0-a.bin")).equals(Buffer.concat(chunks))).toBe(true);
    expect(readdirSync(path.join(root, "ws/job"))).toEqual(["0-a.bin"]);
    const { stream, size: total } = await storage.stream("ws/job/0-a.bin", { start: 64 * 1024 - 1, end: 64 * 1024 });
    expect(total).toBe(size);
    expect([...(await drain(stream))]).toEqual([0, 1]);
  });

  it("a failing source leaves neither the object nor a temp file", async () => {
    const failing = Readable.from((async function* () {
      yield Buffer.alloc(1024, 7);
      throw new Error("source broke");
    })());
    await expect(storage.putStream("ws/job/1-b.bin", failing, "application/octet-stream")).rejects.toThrow("source broke");
    expect(readdirSync(path.join(root, "ws/job"))).toEqual(["0-a.bin"]);
  });

  it("a missing object is StoredObjectMissingError from every read", async () => {
    await expect(storage.stream("ws/job/none.png")).rejects.toBeInstanceOf(StoredObjectMissingError);
    await expect(storage.size("ws/job/none.png")).rejects.toBeInstanceOf(StoredObjectMissingError);
    await expect(storage.read("ws/job/none.png")).rejects.toBeInstanceOf(StoredObjectMissingError);
  });

  it("refuses keys that would leave its folder", async () => {
    await expect(storage.put("../escape.png", new Uint8Array([1]))).rejects.toThrow("invalid storage key");
    await expect(storage.stream("ws/../../etc/passwd")).rejects.toThrow("invalid storage key");
  });
});
