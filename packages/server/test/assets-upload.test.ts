/**
 * `POST /v1/assets` and `GET /v1/assets` (issue #14) through HTTP, on the local store and on
 * S3 (s3rver): an uploaded PNG is composed into a real MP4, used as a seed image and as a
 * character reference (read from the store: its URL is on loopback, which the guarded fetcher
 * refuses); too large → 413 on the declared length and while streaming (nothing left in the
 * store); wrong or unknown bytes → 415; list pages and filters; scope; another workspace gets
 * 404 and cannot use the asset; uploads are free; Idempotency-Key holds on the bytes.
 */
import { once } from "node:events";
import { existsSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderProceduralPng } from "@aeriox/core/media";
import { auditWallet } from "@aeriox/core/wallet";
import { startTestServer, type TestServer } from "./harness.ts";
import { waitForJob, walletOf, type JobBody } from "./polling.ts";
import { startTestS3, type TestS3 } from "./s3-server.ts";

const LIMIT = 64 * 1024;

type AssetBody = { id: string; job_id: string | null; content_type: string; size_bytes: number; url: string; url_expires_at: string; width: number | null; height: number | null; duration_s: number | null; created_at: string };
type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };
type Key = { key: string; key_id: string; workspace_id: string };

const png = (seed: number, w = 64, h = 48) => Buffer.from(renderProceduralPng(`upload ${seed}`, seed, w, h));
/** A minimal WAV (RIFF/WAVE header + a few silent samples). */
function wav(): Buffer {
  const data = Buffer.alloc(800);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "latin1");
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8, "latin1");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(8000, 24);
  h.writeUInt32LE(16000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "latin1");
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

function upload(srv: TestServer, key: string, bytes: Uint8Array | ReadableStream<Uint8Array>, contentType: string, headers: Record<string, string> = {}) {
  const init: RequestInit & { duplex?: "half" } = { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": contentType, ...headers }, body: bytes as BodyInit };
  if (bytes instanceof ReadableStream) init.duplex = "half";
  return fetch(`${srv.url}/v1/assets`, init);
}

async function uploaded(srv: TestServer, key: string, bytes: Uint8Array, contentType: string): Promise<AssetBody> {
  const res = await upload(srv, key, bytes, contentType);
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as AssetBody;
}

async function expectError(res: Response, status: number, code?: string): Promise<ErrorBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get("x-request-id")).toBeTruthy();
  const body = JSON.parse(text) as ErrorBody;
  expect(typeof body.error.message).toBe("string");
  if (code) expect(body.error.code).toBe(code);
  return body;
}

/** A chunked body (no Content-Length): `total` bytes starting with `head`, sent in 16 KiB chunks. */
function streamOf(head: Uint8Array, total: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(16 * 1024, total - sent);
      const chunk = new Uint8Array(n);
      if (sent === 0) chunk.set(head.subarray(0, n));
      sent += n;
      controller.enqueue(chunk);
    },
  });
}

async function download(url: string): Promise<{ status: number; type: string | null; bytes: Buffer }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get("content-type"), bytes: Buffer.from(await res.arrayBuffer()) };
}

function uploadsOnDisk(srv: TestServer, workspaceId: string): string[] {
  const dir = path.join(srv.config.dataDir, "assets", workspaceId, "uploads");
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** What both stores must do; `stored(workspaceId)` lists the objects of the workspace's uploads. */
function uploadSuite(name: string, start: () => Promise<{ srv: TestServer; stored: (workspaceId: string) => Promise<string[]>; close: () => Promise<void> }>) {
  describe(name, () => {
    let srv: TestServer;
    let stored: (workspaceId: string) => Promise<string[]>;
    let close: () => Promise<void>;
    let a: Key;
    let other: Key;
    let image: AssetBody;

    beforeAll(async () => {
      ({ srv, stored, close } = await start());
      a = await srv.createKey();
      other = await srv.createKey();
    }, 60_000);
    afterAll(async () => {
      await close?.();
    });

    it("stores a PNG: 201, Location, the Asset as GET /v1/assets/{id} answers it, the bytes back, free of charge", async () => {
      const before = await walletOf(srv, a.key);
      const bytes = png(1);
      const res = await upload(srv, a.key, bytes, "image/png");
      expect(res.status, await res.clone().text()).toBe(201);
      image = (await res.json()) as AssetBody;
      expect(res.headers.get("location")).toBe(`${srv.url}/v1/assets/${image.id}`);
      expect(image).toMatchObject({ job_id: null, content_type: "image/png", size_bytes: bytes.length, width: 64, height: 48, duration_s: null });
      const got = (await (await srv.request(`/v1/assets/${image.id}`, { key: a.key })).json()) as AssetBody;
      expect({ ...got, url: "", url_expires_at: "" }).toEqual({ ...image, url: "", url_expires_at: "" });
      const file = await download(got.url);
      expect(file.status).toBe(200);
      expect(file.type).toBe("image/png");
      expect(file.bytes.equals(bytes)).toBe(true);
      expect(await walletOf(srv, a.key)).toEqual(before);
      expect(await stored(a.workspace_id)).toHaveLength(1);
    });

    it("composes the uploaded PNG into a real MP4", async () => {
      const res = await srv.request("/v1/compose", { method: "POST", key: a.key, json: { segments: [{ asset_id: image.id, start_time: 0, duration: 1 }], output_resolution: "360p" } });
      expect(res.status, await res.clone().text()).toBe(202);
      const job = await waitForJob(srv, a.key, ((await res.json()) as { id: string }).id, 60_000);
      expect(job.status, JSON.stringify(job.error)).toBe("completed");
      const file = await download(job.output_urls![0]!);
      expect(file.type).toBe("video/mp4");
      expect(file.bytes.subarray(4, 8).toString("latin1")).toBe("ftyp");
      expect(file.bytes.includes(Buffer.from("moov"))).toBe(true);
      const out = (await (await srv.request(`/v1/assets/${job.asset_ids![0]}`, { key: a.key })).json()) as AssetBody;
      expect(out.duration_s).toBeGreaterThan(0.5);
      expect((await auditWallet(srv.runtime.db, a.workspace_id)).problems).toEqual([]);
    }, 90_000);

    it("is a seed image by its signed URL and as aeriox-asset://, read from the store (the loopback URL is never fetched)", async () => {
      for (const seed of [image.url, `aeriox-asset://${image.id}`]) {
        const res = await srv.request("/v1/images/generate", { method: "POST", key: a.key, json: { model: "local/image", prompt: "over the upload", resolution: "128x128", seed_image_url: seed } });
        expect(res.status, await res.clone().text()).toBe(202);
        const job = await waitForJob(srv, a.key, ((await res.json()) as JobBody).job_id);
        expect(job.status, JSON.stringify(job.error)).toBe("completed");
      }
      // Without the upload, the same loopback address is refused by the guarded fetcher: the store path is what made it work.
      const res = await srv.request("/v1/images/generate", { method: "POST", key: a.key, json: { model: "local/image", prompt: "x", resolution: "128x128", seed_image_url: `${srv.url}/not-an-asset.png` } });
      const job = await waitForJob(srv, a.key, ((await res.json()) as JobBody).job_id);
      expect(job.status).toBe("failed");
    });

    it("is a character reference, read from the store", async () => {
      const res = await srv.request("/v1/characters", { method: "POST", key: a.key, json: { name: "Uploaded", image_urls: [image.url, `aeriox-asset://${image.id}`] } });
      expect(res.status, await res.clone().text()).toBe(202);
      const queued = (await res.json()) as JobBody & { character_id: string };
      const job = await waitForJob(srv, a.key, queued.job_id);
      expect(job.status, JSON.stringify(job.error)).toBe("completed");
    });

    it("another workspace cannot see, list or use it", async () => {
      await expectError(await srv.request(`/v1/assets/${image.id}`, { key: other.key }), 404, "not_found");
      const list = (await (await srv.request("/v1/assets", { key: other.key })).json()) as { data: AssetBody[] };
      expect(list.data.map((x) => x.id)).not.toContain(image.id);
      const composed = await srv.request("/v1/compose", { method: "POST", key: other.key, json: { segments: [{ asset_id: image.id, start_time: 0, duration: 1 }] } });
      const err = await expectError(composed, 400, "asset_not_found");
      expect(err.error.details?.field).toBe("body.segments[0].asset_id");
      // As a seed image the foreign asset fails the job (refunded), never read.
      const res = await srv.request("/v1/images/generate", { method: "POST", key: other.key, json: { model: "local/image", prompt: "x", resolution: "128x128", seed_image_url: `aeriox-asset://${image.id}` } });
      const job = await waitForJob(srv, other.key, ((await res.json()) as JobBody).job_id);
      expect(job.status).toBe("failed");
      expect((await auditWallet(srv.runtime.db, other.workspace_id)).problems).toEqual([]);
    });

    it("deletes for good: 204, then 404 for it, its signed URL and a second delete; the job stops listing it; a character's weights are 409 until the character goes", async () => {
      const doomed = await uploaded(srv, a.key, png(11), "image/png");
      const objects = (await stored(a.workspace_id)).length;
      const del = (id: string, key = a.key) => srv.request(`/v1/assets/${id}`, { method: "DELETE", key });
      await expectError(await del(doomed.id, other.key), 404, "not_found");
      const reader = await srv.createKey({ workspace: "uploads-readers", scopes: ["read"] });
      await expectError(await del(doomed.id, reader.key), 403);
      const gone = await del(doomed.id);
      expect(gone.status, await gone.clone().text()).toBe(204);
      await expectError(await srv.request(`/v1/assets/${doomed.id}`, { key: a.key }), 404, "not_found");
      expect((await download(doomed.url)).status).toBe(404);
      await expectError(await del(doomed.id), 404, "not_found");
      expect(await stored(a.workspace_id)).toHaveLength(objects - 1);

      // A job's output: the job no longer lists it.
      const made = await srv.request("/v1/images/generate", { method: "POST", key: a.key, json: { model: "local/image", prompt: "to delete", resolution: "64x64" } });
      const job = await waitForJob(srv, a.key, ((await made.json()) as JobBody).job_id);
      expect((await del(job.asset_ids![0]!)).status).toBe(204);
      const after = (await (await srv.request(`/v1/jobs/${job.job_id}`, { key: a.key })).json()) as JobBody;
      expect(after.asset_ids).toEqual([]);
      expect(after.output_urls ?? []).toEqual([]);

      // A character's trained weights.
      const res = await srv.request("/v1/characters", { method: "POST", key: a.key, json: { name: "Weights", image_urls: [`aeriox-asset://${image.id}`] } });
      const queued = (await res.json()) as JobBody & { character_id: string };
      expect((await waitForJob(srv, a.key, queued.job_id)).status).toBe("completed");
      const character = (await (await srv.request(`/v1/characters/${queued.character_id}`, { key: a.key })).json()) as { lora_url: string };
      const weights = character.lora_url.replace("aeriox-asset://", "");
      const inUse = await expectError(await del(weights), 409, "asset_in_use");
      expect(inUse.error.details?.character_id).toBe(queued.character_id);
      expect((await srv.request(`/v1/characters/${queued.character_id}`, { method: "DELETE", key: a.key })).status).toBe(204);
      expect((await del(weights)).status).toBe(204);
    });

    it("answers 413 beyond ASSET_UPLOAD_MAX_BYTES, on the declared length and while streaming, and stores nothing", async () => {
      const k = await srv.createKey();
      const big = Buffer.concat([png(2), Buffer.alloc(LIMIT)]);
      const declared = await expectError(await upload(srv, k.key, big, "image/png"), 413, "payload_too_large");
      expect(declared.error.details?.max_bytes).toBe(LIMIT);
      await expectError(await upload(srv, k.key, streamOf(png(3), 4 * LIMIT), "image/png"), 413, "payload_too_large");
      // Exactly at the limit is accepted (streamed).
      const atLimit = await upload(srv, k.key, streamOf(png(4), LIMIT), "image/png");
      expect(atLimit.status, await atLimit.clone().text()).toBe(201);
      expect(((await atLimit.json()) as AssetBody).size_bytes).toBe(LIMIT);
      const list = (await (await srv.request("/v1/assets", { key: k.key })).json()) as { data: AssetBody[] };
      expect(list.data).toHaveLength(1);
      expect(await stored(k.workspace_id)).toHaveLength(1);
      // The server still answers on fresh connections.
      expect((await srv.request("/v1/assets", { key: k.key })).status).toBe(200);
    });

    it("answers a refused upload before closing: a client still sending gets the 413, not a reset", async () => {
      const k = await srv.createKey();
      const { hostname, port } = new URL(srv.url);
      // Declared too large (refused before reading), and too large while streaming (chunked, refused past the limit).
      for (const framing of ["declared", "chunked"] as const) {
        const socket = connect(Number(port), hostname);
        await once(socket, "connect");
        let answer = "";
        let failure: Error | undefined;
        let closed = false;
        socket.on("data", (d: Buffer) => (answer += d.toString("latin1")));
        socket.on("error", (err) => (failure = err));
        socket.on("close", () => (closed = true));
        const length = framing === "declared" ? `Content-Length: ${64 * LIMIT}` : "Transfer-Encoding: chunked";
        socket.write(`POST /v1/assets HTTP/1.1\r\nHost: ${hostname}\r\nAuthorization: Bearer ${k.key}\r\nContent-Type: image/png\r\n${length}\r\n\r\n`);
        const chunk = Buffer.concat([png(9), Buffer.alloc(16 * 1024)]);
        // The client goes on sending for 600 ms after the answer could have come (well within the linger).
        const until = Date.now() + 600;
        while (Date.now() < until && !failure && !closed) {
          socket.write(framing === "declared" ? chunk : Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]));
          await new Promise((r) => setTimeout(r, 10));
        }
        // Still open and reading: closing with the client's bytes unread is what resets a connection.
        expect(closed, framing).toBe(false);
        expect(failure, framing).toBeUndefined();
        expect(answer, framing).toMatch(/^HTTP\/1\.1 413 /);
        expect(answer, framing).toContain("payload_too_large");
        if (framing === "chunked") {
          // A body that never ends is not read for ever: the server closes after its linger (2 s; the test's timeout would catch never).
          if (!closed) await once(socket, "close");
        }
        socket.destroy();
      }
      expect(await stored(k.workspace_id)).toEqual([]);
    });

    it("refuses bytes that are not what Content-Type says, unknown bytes, other types, encodings and empty bodies", async () => {
      const k = await srv.createKey();
      const mismatch = await expectError(await upload(srv, k.key, png(5), "image/jpeg"), 415, "content_type_mismatch");
      expect(mismatch.error.details).toMatchObject({ content_type: "image/jpeg", detected_content_type: "image/png" });
      await expectError(await upload(srv, k.key, wav(), "image/png"), 415, "content_type_mismatch");
      await expectError(await upload(srv, k.key, Buffer.from("just some text, not an image at all"), "image/png"), 415, "unrecognized_content");
      await expectError(await upload(srv, k.key, Buffer.from("abc"), "audio/mpeg"), 415, "unrecognized_content");
      await expectError(await upload(srv, k.key, png(5), "text/plain"), 415, "unsupported_media_type");
      await expectError(await upload(srv, k.key, png(5), "application/octet-stream"), 415, "unsupported_media_type");
      await expectError(await upload(srv, k.key, gzipSync(png(5)), "image/png", { "content-encoding": "gzip" }), 415, "unsupported_media_type");
      await expectError(await upload(srv, k.key, new Uint8Array(0), "image/png"), 400);
      await expectError(await upload(srv, k.key, streamOf(new Uint8Array(0), 0), "image/png"), 400);
      // A mismatch found in the first chunk of a long stream stops it.
      await expectError(await upload(srv, k.key, streamOf(png(6), 3 * LIMIT), "image/webp"), 415, "content_type_mismatch");
      expect(await stored(k.workspace_id)).toEqual([]);
      // Parameters and case of the media type do not matter; WAV is taken.
      expect((await uploaded(srv, k.key, wav(), "audio/WAV; charset=binary")).content_type).toBe("audio/wav");
    });

    it("needs a key with generate to upload; read lists", async () => {
      const reader = await srv.createKey({ workspace: "uploads-readers", scopes: ["read"] });
      await expectError(await upload(srv, reader.key, png(7), "image/png"), 403);
      expect((await srv.request("/v1/assets", { key: reader.key })).status).toBe(200);
      await expectError(await fetch(`${srv.url}/v1/assets`, { method: "POST", headers: { "content-type": "image/png" }, body: png(7) }), 401);
      await expectError(await fetch(`${srv.url}/v1/assets`), 401);
    });

    it("honours Idempotency-Key on the bytes", async () => {
      const k = await srv.createKey();
      const first = await upload(srv, k.key, png(8), "image/png", { "idempotency-key": "up-1" });
      expect(first.status).toBe(201);
      const firstBody = (await first.json()) as AssetBody;
      const again = await upload(srv, k.key, png(8), "image/png", { "idempotency-key": "up-1" });
      expect(again.status).toBe(201);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(((await again.json()) as AssetBody).id).toBe(firstBody.id);
      await expectError(await upload(srv, k.key, png(9), "image/png", { "idempotency-key": "up-1" }), 409, "idempotency_key_reused");
      const list = (await (await srv.request("/v1/assets", { key: k.key })).json()) as { data: AssetBody[] };
      expect(list.data.map((x) => x.id)).toEqual([firstBody.id]);
      expect(await stored(k.workspace_id)).toHaveLength(1);
    });

    it("lists the workspace's assets newest first in cursor pages, with filters", async () => {
      const k = await srv.createKey();
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await uploaded(srv, k.key, png(20 + i), "image/png")).id);
      const sound = await uploaded(srv, k.key, wav(), "audio/wav");
      const gen = await srv.request("/v1/images/generate", { method: "POST", key: k.key, json: { model: "local/echo", prompt: "output" } });
      const job = await waitForJob(srv, k.key, ((await gen.json()) as JobBody).job_id);
      const output = job.asset_ids![0]!;

      const seen: AssetBody[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await srv.request(`/v1/assets?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { key: k.key });
        expect(res.status).toBe(200);
        const page = (await res.json()) as { data: AssetBody[]; next_cursor: string | null };
        expect(page.data.length).toBeLessThanOrEqual(3);
        seen.push(...page.data);
        cursor = page.next_cursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen.map((x) => x.id)).toEqual([output, sound.id, ...[...ids].reverse()]);
      expect(seen.every((x) => x.url.includes(`/v1/assets/${x.id}/content?`))).toBe(true);

      const ids_ = async (q: string) => ((await (await srv.request(`/v1/assets${q}`, { key: k.key })).json()) as { data: AssetBody[] }).data.map((x) => x.id);
      expect(await ids_("?kind=audio")).toEqual([sound.id]);
      expect(await ids_("?content_type=audio%2Fwav")).toEqual([sound.id]);
      expect(await ids_("?source=job")).toEqual([output]);
      expect((await ids_("?source=upload&kind=image&limit=100")).sort()).toEqual([...ids].sort());
      expect(await ids_("?kind=video")).toEqual([]);

      await expectError(await srv.request("/v1/assets?cursor=not-a-cursor", { key: k.key }), 400, "invalid_cursor");
      await expectError(await srv.request(`/v1/assets?cursor=${Buffer.from('["x","y"]').toString("base64url")}`, { key: k.key }), 400, "invalid_cursor");
      await expectError(await srv.request("/v1/assets?limit=0", { key: k.key }), 400);
      await expectError(await srv.request("/v1/assets?limit=101", { key: k.key }), 400);
      await expectError(await srv.request("/v1/assets?kind=document", { key: k.key }), 400);
      await expectError(await srv.request("/v1/assets?source=x", { key: k.key }), 400);
      await expectError(await srv.request("/v1/assets?bogus=1", { key: k.key }), 400);
    }, 60_000);
  });
}

uploadSuite("ASSET_STORE=local", async () => {
  const srv = await startTestServer({ env: { ASSET_UPLOAD_MAX_BYTES: String(LIMIT) } });
  return { srv, stored: async (ws) => uploadsOnDisk(srv, ws), close: () => srv.close() };
});

uploadSuite("ASSET_STORE=s3", async () => {
  const s3: TestS3 = await startTestS3();
  const srv = await startTestServer({ env: { ...s3.env, ASSET_UPLOAD_MAX_BYTES: String(LIMIT) } });
  return {
    srv,
    stored: async (ws) => {
      expect(uploadsOnDisk(srv, ws)).toEqual([]);
      return (await s3.list(`${ws}/uploads/`)).map((o) => o.key);
    },
    close: async () => {
      await srv.close();
      await s3.close();
    },
  };
});

