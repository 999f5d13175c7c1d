/**
 * A real S3-protocol server for tests (s3rver: buckets as folders, SigV4 checked
 * with its fixed keys S3RVER/S3RVER), on a loopback port, with one bucket.
 * The SDK finds the keys where it always does: the standard AWS variables.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import S3rver from "s3rver";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { vi } from "vitest";

export const S3_KEYS = { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER", AWS_REGION: "us-east-1", AWS_EC2_METADATA_DISABLED: "true" };

export interface TestS3 {
  endpoint: string;
  bucket: string;
  /** The variables a server needs to keep its assets in this bucket (plus S3_KEYS in its environment). */
  env: Record<string, string>;
  client: S3Client;
  list(prefix?: string): Promise<Array<{ key: string; size: number }>>;
  get(key: string): Promise<Uint8Array>;
  /** Stops answering (the port is closed) but keeps the environment stubbed; close() still cleans up. */
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** Servers started and not yet closed: the keys stay in the environment until the last one closes. */
let open = 0;

export async function startTestS3(): Promise<TestS3> {
  // This process's SDK clients (the in-process server's store) take the keys from the environment.
  if (open++ === 0) for (const [name, value] of Object.entries(S3_KEYS)) vi.stubEnv(name, value);
  const directory = mkdtempSync(path.join(tmpdir(), "aeriox-s3-"));
  const bucket = `aeriox-test-${randomUUID().slice(0, 8)}`;
  const server = new S3rver({ port: 0, address: "127.0.0.1", directory, silent: true, configureBuckets: [{ name: bucket }] });
  const { port } = await server.run();
  let running = true;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } });
  return {
    endpoint,
    bucket,
    env: { ASSET_STORE: "s3", S3_BUCKET: bucket, S3_ENDPOINT: endpoint, S3_FORCE_PATH_STYLE: "true" },
    client,
    async list(prefix) {
      const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(prefix ? { Prefix: prefix } : {}) }));
      return (out.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? -1 }));
    },
    async get(key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return out.Body!.transformToByteArray();
    },
    async stop() {
      if (!running) return;
      running = false;
      await server.close();
    },
    async close() {
      client.destroy();
      if (running) await server.close();
      running = false;
      rmSync(directory, { recursive: true, force: true });
      if (--open === 0) vi.unstubAllEnvs();
    },
  };
}
