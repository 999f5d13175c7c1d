/**
 * Uploaded assets (`POST /v1/assets`): raw bytes streamed into the asset store, never
 * held whole. While they stream, the bytes are counted against the upload limit (413),
 * their first bytes are matched against the declared content type (magic numbers; 415
 * `content_type_mismatch` / `unrecognized_content`) and they are hashed (idempotent
 * retries compare the hash). An upload is an asset like a job's output, with `job_id`
 * null: usable as `asset_id` in compose and prisms, downloadable through signed URLs.
 */
import { createHash, randomUUID } from "node:crypto";
import { Transform, type Readable } from "node:stream";
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { extensionFor } from "./assets.ts";
import { AssetStoreUnavailableError } from "./storage.ts";

export const UPLOAD_CONTENT_TYPES = ["image/png", "image/jpeg", "image/webp", "video/mp4", "audio/mpeg", "audio/wav"] as const;
export type UploadContentType = (typeof UPLOAD_CONTENT_TYPES)[number];

/** Bytes needed to tell the supported formats apart (and read a PNG's size). */
const HEAD_BYTES = 32;

/** The content type the bytes' signature names, or null when it names none we take. */
export function sniffContentType(head: Uint8Array): string | null {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const ascii = (from: number, to: number) => (b.length >= to ? b.subarray(from, to).toString("latin1") : "");
  if (b.length >= 8 && b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "image/png";
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP") return "image/webp";
  if (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WAVE") return "audio/wav";
  if (ascii(4, 8) === "ftyp") {
    const brand = ascii(8, 12);
    // ISO BMFF: audio-only brands are audio/mp4, which is not an upload type.
    return brand === "M4A " || brand === "M4B " ? "audio/mp4" : "video/mp4";
  }
  if (ascii(0, 3) === "ID3") return "audio/mpeg";
  // An MPEG audio frame: 11 sync bits, a version other than "reserved", a layer other than "reserved".
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x18) !== 0x08 && (b[1]! & 0x06) !== 0) return "audio/mpeg";
  return null;
}

function pngDimensions(head: Buffer): { width: number; height: number } | null {
  if (head.length < 24 || head.subarray(12, 16).toString("latin1") !== "IHDR") return null;
  const width = head.readUInt32BE(16);
  const height = head.readUInt32BE(20);
  return width > 0 && height > 0 && width <= 0x7fffffff && height <= 0x7fffffff ? { width, height } : null;
}

export const uploadTooLarge = (maxBytes: number) =>
  new ApiError(413, "payload_too_large", `The upload exceeds this deployment's limit of ${maxBytes} bytes`, { max_bytes: maxBytes });

/** Counts, checks and hashes the bytes as they pass; errors (ApiError) stop the stream. */
class UploadInspector extends Transform {
  bytes = 0;
  detected: string | null = null;
  head = Buffer.alloc(0);
  private checked = false;
  private readonly hash = createHash("sha256");

  constructor(private readonly declared: string, private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) return cb(uploadTooLarge(this.maxBytes));
    if (this.head.length < HEAD_BYTES) this.head = Buffer.concat([this.head, chunk.subarray(0, HEAD_BYTES - this.head.length)]);
    if (!this.checked && this.head.length >= HEAD_BYTES) {
      const err = this.check();
      if (err) return cb(err);
    }
    this.hash.update(chunk);
    cb(null, chunk);
  }

  override _flush(cb: (err?: Error | null) => void): void {
    if (this.bytes === 0) return cb(ApiError.badRequest("empty_body", "The upload has no bytes"));
    cb(this.checked ? null : this.check());
  }

  digest(): string {
    return this.hash.digest("hex");
  }

  private check(): ApiError | null {
    this.checked = true;
    this.detected = sniffContentType(this.head);
    if (!this.detected)
      return new ApiError(415, "unrecognized_content", `The bytes are not a ${this.declared} file (no supported format's signature); accepted: ${UPLOAD_CONTENT_TYPES.join(", ")}`, { content_type: this.declared });
    if (this.detected !== this.declared)
      return new ApiError(415, "content_type_mismatch", `Content-Type is ${this.declared} but the bytes are ${this.detected}`, { content_type: this.declared, detected_content_type: this.detected });
    return null;
  }
}

export interface UploadInput {
  /** The request body; read as it arrives, never buffered whole. */
  body: Readable;
  contentType: string;
  /** Content-Length, when the client declared one (checked before reading). */
  declaredLength?: number;
  maxBytes: number;
}

export interface UploadedAsset {
  asset: Awaited<ReturnType<Runtime["db"]["prisma"]["asset"]["create"]>>;
  sha256: string;
}

/** Media type without parameters, lower-cased (`image/PNG; x=y` → `image/png`). */
export function normalizeMediaType(value: string | undefined): string {
  return (value ?? "").split(";")[0]!.trim().toLowerCase();
}

export async function uploadWorkspaceAsset(services: Pick<Runtime, "db" | "storage">, workspaceId: string, input: UploadInput): Promise<UploadedAsset> {
  const contentType = normalizeMediaType(input.contentType);
  if (!(UPLOAD_CONTENT_TYPES as readonly string[]).includes(contentType))
    throw new ApiError(415, "unsupported_media_type", `Unsupported Content-Type ${contentType || "(none)"}; accepted: ${UPLOAD_CONTENT_TYPES.join(", ")}`);
  if (input.declaredLength !== undefined && input.declaredLength > input.maxBytes) throw uploadTooLarge(input.maxBytes);

  const id = randomUUID();
  const storageKey = `${workspaceId}/uploads/${id}.${extensionFor(contentType)}`;
  const inspector = new UploadInspector(contentType, input.maxBytes);
  // Bytes flow as soon as they are piped, so a refusal (first chunk, empty body) can come before the
  // store attaches to the stream (local: after mkdir): keep the first error, it is the answer.
  let refusal: unknown;
  inspector.on("error", (err) => {
    refusal ??= err;
  });
  // pipe, not pipeline: a refusal must not destroy the request (its socket carries our answer).
  input.body.pipe(inspector);
  const sourceFailed = (err: Error) => inspector.destroy(err);
  input.body.once("error", sourceFailed);
  input.body.once("aborted", () => inspector.destroy(ApiError.badRequest("upload_incomplete", "The client ended the upload before its last byte")));
  let size: number;
  try {
    ({ size } = await services.storage.putStream(storageKey, inspector, contentType));
  } catch (err) {
    input.body.unpipe(inspector);
    // The store may hold part of an object (never under this key for local; S3 aborts): make sure.
    await services.storage.remove(storageKey).catch(() => undefined);
    if (refusal instanceof ApiError) throw refusal;
    if (err instanceof ApiError) throw err;
    if (err instanceof AssetStoreUnavailableError) throw new ApiError(503, "asset_store_unavailable", "The asset store is not answering; retry shortly", undefined, { "retry-after": "5" });
    throw err;
  } finally {
    input.body.off("error", sourceFailed);
  }
  const dims = contentType === "image/png" ? pngDimensions(inspector.head) : null;
  try {
    const asset = await services.db.prisma.asset.create({
      data: { id, workspaceId, jobId: null, contentType, storageKey, sizeBytes: BigInt(size), width: dims?.width ?? null, height: dims?.height ?? null, durationS: null },
    });
    return { asset, sha256: inspector.digest() };
  } catch (err) {
    await services.storage.remove(storageKey).catch(() => undefined);
    throw err;
  }
}
