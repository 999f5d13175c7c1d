/** Assets tag: metadata with a fresh signed URL, and the signed download itself. */
import { findWorkspaceAsset } from "@aeriox/core/assets/assets";
import { ApiError } from "@aeriox/core/errors";
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
    const asset = await ctx.services.db.prisma.asset.findUnique({ where: { id: ctx.params.id } });
    if (!asset) throw ApiError.notFound("Asset");
    const { stream, size } = await ctx.services.storage.stream(asset.storageKey);
    return rawResponse(
      (res) =>
        new Promise<void>((resolve, reject) => {
          res.status(200);
          res.setHeader("Content-Type", asset.contentType);
          res.setHeader("Content-Length", String(size));
          res.setHeader("Cache-Control", "private, max-age=300");
          res.setHeader("Content-Disposition", `inline; filename="${asset.id}"`);
          stream.on("error", reject);
          res.on("finish", resolve);
          res.on("close", resolve);
          stream.pipe(res);
        }),
    );
  },
});
