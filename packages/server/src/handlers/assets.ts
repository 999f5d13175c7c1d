/** Assets tag: upload, list, metadata with a fresh signed URL, and the signed download itself. */
import type { IncomingMessage } from "node:http";
import { deleteWorkspaceAsset, findWorkspaceAsset, openAssetDownload, listWorkspaceAssets, uploadWorkspaceAsset } from "@aeriox/core/assets";
import { ApiError, isApiError } from "@aeriox/core/errors";
import { claimIdempotencyKey, completeIdempotencyKey, releaseIdempotencyKey, requestHash } from "@aeriox/core/idempotency";
import { pipeline } from "node:stream/promises";
import type { AppServices } from "../services.ts";
import { defineHandlers, headerValue, principalOf, rawResponse } from "../http/handler.ts";

type AssetRow = Awaited<ReturnType<typeof findWorkspaceAsset>>;

/** The Asset body, as getAsset, listAssets and uploadAsset answer it. */
function assetBody(services: AppServices, asset: AssetRow) {
  const signed = services.signer.sign(asset.id);
  return {
    id: asset.id,
    job_id: asset.jobId,
    content_type: asset.contentType,
    size_bytes: Number(asset.sizeBytes),
    url: signed.url,
    url_expires_at: signed.expiresAt.toISOString(),
    width: asset.width,
    height: asset.height,
    duration_s: asset.durationS,
    created_at: asset.createdAt.toISOString(),
  };
}

/** How long a refused upload's connection goes on reading, and discarding, what the client still sends. */
const REFUSED_UPLOAD_LINGER_MS = 2000;

/**
 * An upload refused before its last byte: the answer goes at once, the rest of the body is read and
 * discarded for at most REFUSED_UPLOAD_LINGER_MS, and then the connection is closed unless the body
 * ended meanwhile (it is then reusable). Closing at once, with the client's bytes unread, makes the
 * kernel reset the connection, and a client still sending could lose the answer to that reset
 * (EPIPE or ECONNRESET instead of the 413): HTTP servers' lingering close.
 */
function closeAfterLingering(request: IncomingMessage): void {
  const socket = request.socket;
  const timer = setTimeout(() => socket.destroy(), REFUSED_UPLOAD_LINGER_MS).unref();
  const stop = () => clearTimeout(timer);
  request.once("end", stop);
  socket.once("close", stop);
  request.resume(); // flowing, with no reader: the bytes are dropped as they arrive
}

export const assetHandlers = defineHandlers({
  getAsset: async (ctx) => {
    const asset = await findWorkspaceAsset(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: assetBody(ctx.services, asset) };
  },

  deleteAsset: async (ctx) => {
    await deleteWorkspaceAsset(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 204, body: undefined };
  },

  listAssets: async (ctx) => {
    const page = await listWorkspaceAssets(ctx.services, principalOf(ctx).workspaceId, ctx.query);
    return { status: 200, body: { data: page.assets.map((asset) => assetBody(ctx.services, asset)), next_cursor: page.nextCursor } };
  },

  uploadAsset: async (ctx) => {
    const { workspaceId } = principalOf(ctx);
    const { services, request } = ctx;
    const encoding = String(ctx.headers["content-encoding"] ?? "").trim().toLowerCase();
    const lengthHeader = ctx.headers["content-length"];
    const declaredLength = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    let uploaded: Awaited<ReturnType<typeof uploadWorkspaceAsset>>;
    try {
      // Stored as sent: a compressed body would be stored compressed and fail the signature check anyway.
      if (encoding !== "" && encoding !== "identity") throw new ApiError(415, "unsupported_media_type", "Send the upload without Content-Encoding (identity)");
      uploaded = await uploadWorkspaceAsset(services, workspaceId, { body: request, contentType: String(ctx.headers["content-type"] ?? ""), declaredLength, maxBytes: services.config.ASSET_UPLOAD_MAX_BYTES });
    } catch (err) {
      if (isApiError(err) && !request.readableEnded) closeAfterLingering(request);
      throw err;
    }
    const created = (body: ReturnType<typeof assetBody>) => ({
      status: 201 as const,
      body,
      headers: { location: `${services.config.publicUrl}/v1/assets/${body.id}` },
    });

    const idempotencyKey = ctx.headers["idempotency-key"];
    if (typeof idempotencyKey !== "string" || idempotencyKey === "") return created(assetBody(services, uploaded.asset));
    // The promise of every POST, kept on the bytes: the same key with the same bytes and type answers
    // the first asset (this upload's copy is dropped), with different ones 409.
    const discard = async () => {
      await services.db.prisma.asset.deleteMany({ where: { id: uploaded.asset.id } });
      await services.storage.remove(uploaded.asset.storageKey).catch(() => undefined);
    };
    const hash = requestHash("uploadAsset", "/v1/assets", { sha256: uploaded.sha256, content_type: uploaded.asset.contentType });
    let claim: Awaited<ReturnType<typeof claimIdempotencyKey>>;
    try {
      claim = await claimIdempotencyKey(services.db, { workspaceId, key: idempotencyKey, operationId: "uploadAsset", hash, leaseSeconds: services.config.IDEMPOTENCY_LEASE_SECONDS });
    } catch (err) {
      await discard();
      throw err;
    }
    if (claim.kind === "replay") {
      await discard();
      const first = claim.response.body as ReturnType<typeof assetBody>;
      const replay = created(first);
      return { ...replay, headers: { ...replay.headers, "idempotent-replayed": "true" } };
    }
    const answer = created(assetBody(services, uploaded.asset));
    try {
      await completeIdempotencyKey(services.db, claim.token, { status: answer.status, body: answer.body });
    } catch (err) {
      await releaseIdempotencyKey(services.db, claim.token).catch(() => undefined);
      throw err;
    }
    return answer;
  },

  downloadAsset: async (ctx) => {
    ctx.services.signer.verify(ctx.params.id, Number(ctx.query.expires), String(ctx.query.signature));
    const download = await openAssetDownload(ctx.services, ctx.params.id, { range: ctx.headers.range, ifRange: headerValue(ctx.headers["if-range"]) });
    if (download.kind === "redirect") {
      return rawResponse((res) => {
        for (const [name, value] of Object.entries(download.headers)) res.setHeader(name, value);
        res.redirect(302, download.location);
      });
    }
    return rawResponse(async (res) => {
      res.status(download.status);
      for (const [name, value] of Object.entries(download.headers)) res.setHeader(name, value);
      try {
        // pipeline, not pipe: a client that goes away also closes the store's stream (an S3 socket, a file).
        await pipeline(download.stream, res);
      } catch (err) {
        // Headers are out: a store failing mid-body can only cut the response short, which the client sees.
        if (!res.headersSent) throw err;
        if ((err as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE") ctx.log.warn({ err }, "asset download ended early");
      }
    });
  },
});
