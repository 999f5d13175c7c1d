/**
 * Asset storage through HTTP on both stores: with ASSET_STORE=s3 against a real
 * S3-protocol server (s3rver) the bytes of a job land in the bucket and come back
 * through the signed URL, whole or as one byte range, or through a 302 to a
 * presigned bucket URL; a second API process with its own DATA_DIR serves assets
 * that the first one stored. The local store answers ranges the same way, and a
 * row whose bytes are gone is a 404 on both.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createS3AssetStorage } from "@aeriox/core/assets/s3";
import { BIN, REPO_ROOT } from "../../cli/test/run-cli.ts";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, type JobBody } from "./polling.ts";
import { S3_KEYS, startTestS3, type TestS3 } from "./s3-server.ts";

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const SECRET = "asset-url-secret-shared-by-every-process-0123456789";

interface Generated {
  assetId: string;
  workspaceId: string;
  key: string;
  /** Signed download URL, from GET /v1/assets/{id} on the server that was asked. */
  url: string;
}

async function generate(srv: TestServer, apiKey?: { key: string; workspace_id: string }): Promise<Generated> {
  const k = apiKey ?? (await srv.createKey());
  const res = await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: { model: "local/image", prompt: "a lighthouse", resolution: "128x128" } });
  expect(res.status, await res.clone().text()).toBe(202);
  const job = await waitForJob(srv, k.key, ((await res.json()) as JobBody).job_id);
  expect(job.status).toBe("completed");
  const assetId = job.asset_ids![0]!;
  return { assetId, workspaceId: k.workspace_id, key: k.key, url: await signedUrl(srv.url, k.key, assetId) };
}

async function signedUrl(base: string, key: string, assetId: string): Promise<string> {
  const res = await fetch(`${base}/v1/assets/${assetId}`, { headers: { authorization: `Bearer ${key}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { url: string }).url;
}

const bytesOf = async (res: Response) => new Uint8Array(await res.arrayBuffer());

/** The Range behaviour both stores share, checked against the whole download. */
async function expectRanges(url: string, whole: Uint8Array): Promise<void> {
  const size = whole.byteLength;
  expect(size).toBeGreaterThan(64);

  const slice = await fetch(url, { headers: { range: "bytes=10-29" } });
  expect(slice.status).toBe(206);
  expect(slice.headers.get("content-range")).toBe(`bytes 10-29/${size}`);
  expect(slice.headers.get("content-length")).toBe("20");
  expect(slice.headers.get("accept-ranges")).toBe("bytes");
  expect(slice.headers.get("content-type")).toBe("image/png");
  expect(await bytesOf(slice)).toEqual(whole.slice(10, 30));

  const open = await fetch(url, { headers: { range: `bytes=${size - 5}-` } });
  expect(open.status).toBe(206);
  expect(open.headers.get("content-range")).toBe(`bytes ${size - 5}-${size - 1}/${size}`);
  expect(await bytesOf(open)).toEqual(whole.slice(size - 5));

  const suffix = await fetch(url, { headers: { range: "bytes=-16" } });
  expect(suffix.status).toBe(206);
  expect(await bytesOf(suffix)).toEqual(whole.slice(size - 16));

  // An end past the last byte is clamped to it.
  const clamped = await fetch(url, { headers: { range: `bytes=0-${size + 1000}` } });
  expect(clamped.status).toBe(206);
  expect(clamped.headers.get("content-range")).toBe(`bytes 0-${size - 1}/${size}`);
  expect(await bytesOf(clamped)).toEqual(whole);

  const past = await fetch(url, { headers: { range: `bytes=${size}-${size + 10}` } });
  expect(past.status).toBe(416);
  expect(past.headers.get("content-range")).toBe(`bytes */${size}`);
  const body = (await past.json()) as { error: { code: string; details: { size_bytes: number } } };
  expect(body.error.code).toBe("range_not_satisfiable");
  expect(body.error.details.size_bytes).toBe(size);

  // Served whole (200), as RFC 9110 allows: several ranges, another unit, a malformed range, any If-Range.
  for (const headers of [{ range: "bytes=0-1,5-6" }, { range: "items=0-1" }, { range: "bytes=9-3" }, { range: "bytes=0-1", "if-range": '"x"' }] as Array<Record<string, string>>) {
    const res = await fetch(url, { headers });
    expect(res.status, JSON.stringify(headers)).toBe(200);
    expect(await bytesOf(res)).toEqual(whole);
  }
}

describe("ASSET_STORE=s3", () => {
  let s3: TestS3;
  let srv: TestServer;
  beforeAll(async () => {
    s3 = await startTestS3();
    srv = await startTestServer({ env: { ...s3.env, ASSET_URL_SECRET: SECRET } });
  }, 60_000);
  afterAll(async () => {
    await srv?.close();
    await s3?.close();
  });

  it("a local/image job stores its PNG in the bucket, not in DATA_DIR, and the signed URL serves those bytes", async () => {
    const made = await generate(srv);
    const objects = await s3.list(`${made.workspaceId}/`);
    expect(objects).toHaveLength(1);
    expect(objects[0]!.key).toMatch(new RegExp(`^${made.workspaceId}/[0-9a-f-]+/0-${made.assetId}\\.png$`));
    const stored = await s3.get(objects[0]!.key);
    expect([...stored.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    expect(existsSync(path.join(srv.config.dataDir, "assets"))).toBe(false);

    const res = await fetch(made.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(res.headers.get("content-length")).toBe(String(stored.byteLength));
    expect(res.headers.get("accept-ranges")).toBe("bytes");
    expect(await bytesOf(res)).toEqual(stored);
    const meta = (await (await srv.request(`/v1/assets/${made.assetId}`, { key: made.key })).json()) as { size_bytes: number };
    expect(meta.size_bytes).toBe(stored.byteLength);
  });

  it("a Range request returns exactly that slice of the stored object", async () => {
    const made = await generate(srv);
    const [object] = await s3.list(`${made.workspaceId}/`);
    await expectRanges(made.url, await s3.get(object!.key));
  });

  it("an asset whose object is gone from the bucket is a 404 in the Error shape", async () => {
    const made = await generate(srv);
    const [object] = await s3.list(`${made.workspaceId}/`);
    await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: object!.key }));
    for (const headers of [{}, { range: "bytes=0-9" }] as Array<Record<string, string>>) {
      const res = await fetch(made.url, { headers });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });

  it("a tampered signature is still refused before the store is asked", async () => {
    const made = await generate(srv);
    const res = await fetch(made.url.replace(/signature=./, "signature=A"), { headers: { range: "bytes=0-9" } });
    expect(res.status).toBe(403);
  });

  it("streamed uploads (multipart above 5 MiB) keep every byte and report the size", async () => {
    const storage = createS3AssetStorage({ bucket: s3.bucket, region: "us-east-1", endpoint: s3.endpoint, forcePathStyle: true });
    try {
      const chunk = (i: number) => Buffer.alloc(1024 * 1024, i);
      const chunks = Array.from({ length: 7 }, (_, i) => chunk(i)); // 7 MiB: two parts
      const { size } = await storage.putStream("streamed/big.bin", Readable.from(chunks), "application/octet-stream");
      expect(size).toBe(7 * 1024 * 1024);
      expect(await storage.size("streamed/big.bin")).toBe(size);
      const back = await storage.read("streamed/big.bin");
      expect(Buffer.from(back).equals(Buffer.concat(chunks))).toBe(true);
      const { stream, size: total } = await storage.stream("streamed/big.bin", { start: 1024 * 1024 - 2, end: 1024 * 1024 + 1 });
      const parts: Buffer[] = [];
      for await (const p of stream) parts.push(p as Buffer);
      expect(total).toBe(size);
      expect([...Buffer.concat(parts)]).toEqual([0, 0, 1, 1]);

      // A source that fails mid-way stores nothing under the key.
      const failing = Readable.from((async function* () {
        yield chunk(9);
        throw new Error("source broke");
      })());
      await expect(storage.putStream("streamed/broken.bin", failing, "application/octet-stream")).rejects.toThrow("source broke");
      expect(await s3.list("streamed/broken")).toEqual([]);
    } finally {
      storage.close?.();
    }
  });

  it("a store that does not answer is a 503 asset_store_unavailable with retry-after, not a 500", async () => {
    const gone = await startTestS3();
    const srv2 = await startTestServer({ env: gone.env });
    try {
      const made = await generate(srv2);
      expect(await gone.list(`${made.workspaceId}/`)).toHaveLength(1);
      await gone.stop(); // the bucket's server goes away; the asset row stays
      for (const headers of [{}, { range: "bytes=0-9" }] as Array<Record<string, string>>) {
        const res = await fetch(made.url, { headers });
        expect(res.status).toBe(503);
        expect(res.headers.get("retry-after")).toBe("5");
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe("asset_store_unavailable");
      }
    } finally {
      await srv2.close();
      await gone.close();
    }
  });

  describe("with S3_PRESIGNED_DOWNLOADS=true", () => {
    let presigning: TestServer;
    beforeAll(async () => {
      presigning = await startTestServer({ env: { ...s3.env, S3_PRESIGNED_DOWNLOADS: "true" } });
    }, 60_000);
    afterAll(() => presigning?.close());

    it("the signed URL answers 302 to a short-lived presigned bucket URL that serves the bytes", async () => {
      const made = await generate(presigning);
      const res = await fetch(made.url, { redirect: "manual" });
      expect(res.status).toBe(302);
      expect(res.headers.get("cache-control")).toBe("no-store");
      const location = new URL(res.headers.get("location")!);
      expect(location.origin).toBe(s3.endpoint);
      expect(Number(location.searchParams.get("X-Amz-Expires"))).toBeLessThanOrEqual(300);
      // This server has no ASSET_URL_SECRET (the first one has): only it warns the operator.
      expect(presigning.logs.join("")).toContain("ASSET_STORE=s3 without ASSET_URL_SECRET");
      expect(srv.logs.join("")).not.toContain("without ASSET_URL_SECRET");
      const [object] = await s3.list(`${made.workspaceId}/`);
      const stored = await s3.get(object!.key);

      const fromBucket = await fetch(location);
      expect(fromBucket.status).toBe(200);
      expect(fromBucket.headers.get("content-type")).toBe("image/png");
      expect(await bytesOf(fromBucket)).toEqual(stored);
      // A client following the redirect sends its Range on to the bucket.
      const ranged = await fetch(made.url, { headers: { range: "bytes=0-7" } });
      expect(ranged.status).toBe(206);
      expect([...(await bytesOf(ranged))]).toEqual(PNG_SIGNATURE);
    });

    it("a missing object is our 404, not a redirect to the bucket's error", async () => {
      const made = await generate(presigning);
      const [object] = await s3.list(`${made.workspaceId}/`);
      await s3.client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: object!.key }));
      const res = await fetch(made.url, { redirect: "manual" });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    });
  });

  // Two API processes need a database both can open: PostgreSQL (the second pass).
  describe.skipIf(!process.env.DATABASE_URL)("two API processes sharing the bucket", () => {
    let other: ChildProcess | undefined;
    let otherUrl: string;
    let otherDataDir: string;
    beforeAll(async () => {
      otherDataDir = mkdtempSync(path.join(tmpdir(), "aeriox-other-"));
      other = spawn(process.execPath, [BIN, "serve"], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          ...S3_KEYS,
          ...s3.env,
          NODE_ENV: "test",
          LOG_LEVEL: "warn",
          PORT: "0",
          HOST: "127.0.0.1",
          DATABASE_URL: srv.databaseUrl!,
          ...(srv.config.REDIS_URL ? { REDIS_URL: srv.config.REDIS_URL, REDIS_PREFIX: srv.config.REDIS_PREFIX } : {}),
          ASSET_URL_SECRET: SECRET,
          DATA_DIR: otherDataDir, // its own: the bytes can only come from the bucket
        },
        stdio: ["ignore", "pipe", "pipe"],
      });
      otherUrl = await new Promise<string>((resolve, reject) => {
        let out = "";
        const onData = (d: Buffer) => {
          out += d;
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!.replace("localhost", "127.0.0.1"));
        };
        other!.stdout!.on("data", onData);
        other!.stderr!.on("data", onData);
        other!.once("exit", (code) => reject(new Error(`second API process exited (${code}): ${out}`)));
      });
    }, 60_000);
    afterAll(() => {
      other?.kill("SIGKILL");
      if (otherDataDir) rmSync(otherDataDir, { recursive: true, force: true });
    });

    it("a job submitted to one process downloads through the other's signed URL, both ways", async () => {
      const made = await generate(srv);
      const [object] = await s3.list(`${made.workspaceId}/`);
      const stored = await s3.get(object!.key);
      // The other process signs with its own public URL (http://localhost:PORT, no PUBLIC_URL); we call it on the address it listens on.
      const viaOther = (await signedUrl(otherUrl, made.key, made.assetId)).replace("//localhost:", "//127.0.0.1:");
      expect(new URL(viaOther).origin).toBe(otherUrl);
      const res = await fetch(viaOther);
      expect(res.status).toBe(200);
      expect(await bytesOf(res)).toEqual(stored);
      const ranged = await fetch(viaOther, { headers: { range: "bytes=0-7" } });
      expect(ranged.status).toBe(206);
      expect([...(await bytesOf(ranged))]).toEqual(PNG_SIGNATURE);
      // The signing secret is shared: this process's URL verifies on the other too.
      expect((await fetch(made.url.replace(srv.url, otherUrl))).status).toBe(200);

      const k = await srv.createKey();
      const submitted = await fetch(`${otherUrl}/v1/images/generate`, {
        method: "POST",
        headers: { authorization: `Bearer ${k.key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "local/image", prompt: "the other way", resolution: "128x128" }),
      });
      expect(submitted.status).toBe(202);
      const job = await waitForJob(srv, k.key, ((await submitted.json()) as JobBody).job_id);
      expect(job.status).toBe("completed");
      const assetId = job.asset_ids![0]!;
      const back = await fetch(await signedUrl(srv.url, k.key, assetId));
      expect(back.status).toBe(200);
      const [theirs] = await s3.list(`${k.workspace_id}/`);
      expect(await bytesOf(back)).toEqual(await s3.get(theirs!.key));
      expect(existsSync(path.join(otherDataDir, "assets"))).toBe(false);
    }, 60_000);
  });
});

describe("ASSET_STORE=local", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer();
  }, 60_000);
  afterAll(() => srv?.close());

  it("serves one byte range of the file, like the S3 store", async () => {
    const made = await generate(srv);
    const whole = await fetch(made.url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    const bytes = await bytesOf(whole);
    expect([...bytes.slice(0, 8)]).toEqual(PNG_SIGNATURE);
    await expectRanges(made.url, bytes);
  });

  it("an asset whose file is gone is a 404 in the Error shape", async () => {
    const made = await generate(srv);
    rmSync(path.join(srv.config.dataDir, "assets", made.workspaceId), { recursive: true, force: true });
    for (const headers of [{}, { range: "bytes=0-9" }] as Array<Record<string, string>>) {
      const res = await fetch(made.url, { headers });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("not_found");
    }
  });
});
