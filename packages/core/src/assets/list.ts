/**
 * `GET /v1/assets`: the workspace's assets (job outputs and uploads), newest first, in
 * keyset pages on (created_at, id) with the shared cursor (db/cursor.ts).
 */
import type { Runtime } from "../runtime.ts";
import { decodeCursor, encodeCursor, pageLimit } from "../db/cursor.ts";
import type { Prisma } from "../db/generated/client.ts";

export interface AssetListQuery {
  limit?: number;
  cursor?: string;
  kind?: "image" | "video" | "audio";
  content_type?: string;
  source?: "upload" | "job";
}

export async function listWorkspaceAssets(services: Pick<Runtime, "db">, workspaceId: string, query: AssetListQuery) {
  const limit = pageLimit(query.limit);
  const and: Prisma.AssetWhereInput[] = [{ workspaceId }];
  if (query.kind) and.push({ contentType: { startsWith: `${query.kind}/` } });
  if (query.content_type) and.push({ contentType: query.content_type.toLowerCase() });
  if (query.source === "upload") and.push({ jobId: null });
  if (query.source === "job") and.push({ jobId: { not: null } });
  if (query.cursor) {
    const after = decodeCursor(query.cursor);
    and.push({ OR: [{ createdAt: { lt: after.createdAt } }, { createdAt: after.createdAt, id: { lt: after.id } }] });
  }
  const rows = await services.db.prisma.asset.findMany({ where: { AND: and }, orderBy: [{ createdAt: "desc" }, { id: "desc" }], take: limit + 1 });
  const assets = rows.slice(0, limit);
  return { assets, nextCursor: rows.length > limit ? encodeCursor(assets[assets.length - 1]!) : null };
}
