/**
 * Deleting an asset (`DELETE /v1/assets/{id}`): its row goes first, in one transaction with the
 * job that produced it (which stops listing it), so nothing can reach it once the answer is sent;
 * then its bytes leave the asset store. A character's trained weights (`lora_url`) are refused.
 */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";
import { loraUrlFor } from "../characters/lora-ref.ts";

export async function deleteWorkspaceAsset(services: Pick<Runtime, "db" | "storage" | "logger">, workspaceId: string, assetId: string): Promise<void> {
  const storageKey = await services.db.prisma.$transaction(async (tx) => {
    const asset = await tx.asset.findFirst({ where: { id: assetId, workspaceId } });
    if (!asset) throw ApiError.notFound("Asset");
    const character = await tx.character.findFirst({ where: { workspaceId, deletedAt: null, loraUrl: loraUrlFor(assetId) }, select: { id: true, name: true } });
    if (character) {
      throw ApiError.conflict("asset_in_use", `Asset ${assetId} holds the trained weights of character ${character.name}; delete the character first`, { character_id: character.id });
    }
    // A concurrent delete of the same asset finds nothing here and answers 404.
    const { count } = await tx.asset.deleteMany({ where: { id: assetId, workspaceId } });
    if (count === 0) throw ApiError.notFound("Asset");
    if (asset.jobId) {
      const job = await tx.job.findUnique({ where: { id: asset.jobId }, select: { outputAssetIds: true } });
      if (job) await tx.job.update({ where: { id: asset.jobId }, data: { outputAssetIds: job.outputAssetIds.filter((id) => id !== assetId) } });
    }
    return asset.storageKey;
  });
  try {
    await services.storage.remove(storageKey);
  } catch (err) {
    // The row is gone, so the bytes are unreachable; they only take space until the store is swept.
    services.logger.warn({ err, assetId }, "asset deleted but its bytes could not be removed from the asset store");
  }
}
