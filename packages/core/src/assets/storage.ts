/**
 * Where asset bytes live (ARCHITECTURE.md, Asset storage). `local` keeps them in a
 * folder under DATA_DIR: one machine, or several sharing that folder. `s3`
 * (./s3-storage.ts) keeps them in an S3-compatible bucket that every API server
 * and worker of a deployment reads, so a download works on whichever process
 * answers it.
 */
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** Inclusive byte offsets, already checked against the object's size (./range.ts). */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredStream {
  stream: Readable;
  /** Size of the whole object, whatever range was asked for. */
  size: number;
}

export interface AssetStorage {
  readonly kind: "local" | "s3";
  /** Small outputs already in memory. */
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<void>;
  /** Large outputs: written as they arrive, never held whole in memory. Resolves with the bytes written. */
  putStream(key: string, stream: Readable, contentType: string): Promise<{ size: number }>;
  read(key: string): Promise<Uint8Array>;
  /** The object's bytes, or only `range` of them. A missing object rejects with StoredObjectMissingError. */
  stream(key: string, range?: ByteRange): Promise<StoredStream>;
  /** Size of the object; StoredObjectMissingError when there is none. */
  size(key: string): Promise<number>;
  remove(key: string): Promise<void>;
  /**
   * A short-lived URL that serves the object without this API in between (S3 only).
   * `filename` and `contentType` are what the bucket answers with, so the bytes
   * arrive as they would through the API.
   */
  presignedGetUrl?(key: string, options: { expiresInSeconds: number; contentType: string; filename: string }): Promise<string>;
  /** Releases connections (S3's sockets); the runtime calls it on close. */
  close?(): void;
}

/** The database names an asset whose bytes are not in the store (deleted by hand, or a store switched without copying). */
export class StoredObjectMissingError extends Error {
  constructor(readonly key: string) {
    super(`asset object ${key} is not in the store`);
    this.name = "StoredObjectMissingError";
  }
}

/** The store did not answer (connection refused or reset, timeout, 5xx, throttling): worth a retry, not a bug. */
export class AssetStoreUnavailableError extends Error {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`the asset store did not answer for ${key}`, options);
    this.name = "AssetStoreUnavailableError";
  }
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]*$/;

/** Keys are ours (workspace/job/index-uuid.ext); anything else is a bug, never a path to follow. */
export function assertSafeKey(key: string): void {
  if (!SAFE_KEY.test(key) || key.includes("..")) throw new Error(`invalid storage key ${key}`);
}

/** Passes bytes through and counts them (the stored size of a streamed upload). */
export function byteCounter(): Transform & { bytes: number } {
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      counter.bytes += chunk.length;
      cb(null, chunk);
    },
  }) as Transform & { bytes: number };
  counter.bytes = 0;
  return counter;
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

async function openOrMissing(key: string, file: string): Promise<FileHandle> {
  try {
    return await open(file, "r");
  } catch (err) {
    if (isMissing(err)) throw new StoredObjectMissingError(key);
    throw err;
  }
}

export function createLocalAssetStorage(root: string): AssetStorage {
  const fileOf = (key: string) => {
    assertSafeKey(key);
    return path.join(root, key);
  };
  // Write then rename so a reader never sees half a file; the unique temp name keeps
  // two writers (processes sharing the folder, or a retried job) from mixing bytes.
  const tempOf = (file: string) => `${file}.${process.pid}.${randomUUID()}.tmp`;
  return {
    kind: "local",
    async put(key, bytes) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      const temp = tempOf(file);
      try {
        await writeFile(temp, bytes);
        await rename(temp, file);
      } catch (err) {
        await rm(temp, { force: true });
        throw err;
      }
    },
    async putStream(key, stream) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      const temp = tempOf(file);
      const counter = byteCounter();
      const out = createWriteStream(temp, { flags: "wx" });
      try {
        await pipeline(stream, counter, out);
        await rename(temp, file);
      } catch (err) {
        // A source that fails at once rejects the pipeline while the file is still being opened; the
        // destroyed stream then creates it and closes it. Removing it before that would leave it behind.
        if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
        await rm(temp, { force: true });
        throw err;
      }
      return { size: counter.bytes };
    },
    async read(key) {
      try {
        return new Uint8Array(await readFile(fileOf(key)));
      } catch (err) {
        if (isMissing(err)) throw new StoredObjectMissingError(key);
        throw err;
      }
    },
    async stream(key, range) {
      // Open once, then stat the open file: a file removed in between cannot make the size and the bytes disagree.
      const handle = await openOrMissing(key, fileOf(key));
      try {
        const { size } = await handle.stat();
        return { stream: handle.createReadStream(range ? { start: range.start, end: range.end } : {}), size };
      } catch (err) {
        await handle.close();
        throw err;
      }
    },
    async size(key) {
      try {
        return (await stat(fileOf(key))).size;
      } catch (err) {
        if (isMissing(err)) throw new StoredObjectMissingError(key);
        throw err;
      }
    },
    async remove(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}
