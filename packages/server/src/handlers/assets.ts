/** Assets tag: metadata with a fresh signed URL, and the signed download itself. */
import { findWorkspaceAsset } from "@aeriox/core/assets/assets";
import { openAssetDownload } from "@aeriox/core/assets/download";
import { pipeline } from "node:stream/promises";
import { defineHandlers, principalOf, rawResponse } from "../http/handler.ts";

export const assetHandlers = defineHandlers({
  getAsset: async (ctx) => {
    const asset = await findWorkspaceAsset(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    const signed = ctx.services.signer.sign(asset.id);
    return {
      status: 200,
      body: {
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
      },
    };
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

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
