/**
 * Asset bytes in an S3-compatible bucket (AWS S3, MinIO, R2, …), so every API
 * server and worker of a deployment reads what any of them wrote. Credentials come
 * from the AWS SDK's default provider chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
 * AWS_PROFILE, web identity, instance roles): we add no variables of our own.
 */
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AssetStoreUnavailableError, assertSafeKey, byteCounter, StoredObjectMissingError, type AssetStorage } from "./storage.ts";

export interface S3StorageOptions {
  bucket: string;
  region: string;
  /** Custom endpoint (MinIO, R2, …); unset for AWS itself. */
  endpoint?: string | undefined;
  /** `bucket` in the path rather than the host name: what most self-hosted servers need. */
  forcePathStyle: boolean;
}

/** Multipart part size for streamed uploads: S3's minimum, so at most ~2 parts are buffered at once (queueSize 2). */
const PART_SIZE = 5 * 1024 * 1024;

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  // GET names the missing key (NoSuchKey); HEAD has no body, so only its 404 says so.
  // NoSuchBucket is a misconfiguration and stays an error (500), not a missing asset.
  return e.name === "NoSuchKey" || (e.name === "NotFound" && e.$metadata?.httpStatusCode === 404);
}

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

/** After the SDK's own retries: no HTTP answer at all, a 5xx, or throttling. A 403 or NoSuchBucket is a misconfiguration instead. */
function isUnavailable(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined) return status >= 500 || status === 429;
  return NETWORK_CODES.has(e.code ?? "") || e.name === "TimeoutError";
}

export function createS3AssetStorage(options: S3StorageOptions): AssetStorage {
  const client = new S3Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    forcePathStyle: options.forcePathStyle,
    // Checksums only where S3 requires them: the SDK's default (CRC32 trailers on every
    // upload, aws-chunked bodies) is not understood by many S3-compatible servers.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
  const Bucket = options.bucket;
  /** Reads name their failures: a missing object, or a store that did not answer. */
  const reading = async <T>(key: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      if (isNotFound(err)) throw new StoredObjectMissingError(key);
      if (isUnavailable(err)) throw new AssetStoreUnavailableError(key, { cause: err });
      throw err;
    }
  };

  return {
    kind: "s3",
    async put(key, bytes, contentType) {
      assertSafeKey(key);
      await client.send(new PutObjectCommand({ Bucket, Key: key, Body: bytes, ContentLength: bytes.byteLength, ...(contentType ? { ContentType: contentType } : {}) }));
    },
    async putStream(key, stream, contentType) {
      assertSafeKey(key);
      const counter = byteCounter();
      const pumping = pipeline(stream, counter);
      // One PutObject below PART_SIZE, a multipart upload above it; a failed multipart upload is aborted (leaves no parts).
      const upload = new Upload({ client, params: { Bucket, Key: key, Body: counter, ContentType: contentType }, partSize: PART_SIZE, queueSize: 2, leavePartsOnError: false });
      try {
        await Promise.all([upload.done(), pumping]);
      } catch (err) {
        stream.destroy();
        counter.destroy();
        await upload.abort().catch(() => undefined);
        throw err;
      }
      return { size: counter.bytes };
    },
    async read(key) {
      assertSafeKey(key);
      const out = await reading(key, () => client.send(new GetObjectCommand({ Bucket, Key: key })));
      return out.Body!.transformToByteArray();
    },
    async stream(key, range) {
      assertSafeKey(key);
      const out = await reading(key, () => client.send(new GetObjectCommand({ Bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}) })));
      // A ranged answer carries the whole size in Content-Range ("bytes 0-9/1234").
      const total = range ? Number(/\/(\d+)$/.exec(out.ContentRange ?? "")?.[1]) : out.ContentLength;
      if (total === undefined || !Number.isFinite(total)) {
        (out.Body as Readable | undefined)?.destroy();
        throw new Error(`S3 answered GetObject ${key} without a size`);
      }
      return { stream: out.Body as Readable, size: total };
    },
    async size(key) {
      assertSafeKey(key);
      const out = await reading(key, () => client.send(new HeadObjectCommand({ Bucket, Key: key })));
      return out.ContentLength ?? 0;
    },
    async remove(key) {
      assertSafeKey(key);
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    async presignedGetUrl(key, { expiresInSeconds, contentType, filename }) {
      assertSafeKey(key);
      const command = new GetObjectCommand({ Bucket, Key: key, ResponseContentType: contentType, ResponseContentDisposition: `inline; filename="${filename}"` });
      return getSignedUrl(client, command, { expiresIn: expiresInSeconds });
    },
    close() {
      client.destroy();
    },
  };
}
