/** Workspaces: the unit of isolation. Every row a caller can see belongs to one. */
import type { Database } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import { isUuid } from "../ids.ts";

/** `ref` is a workspace id or name; a name that does not exist yet creates the workspace. */
export async function findOrCreateWorkspace(db: Database, ref: string): Promise<{ id: string; name: string }> {
  if (isUuid(ref)) {
    const byId = await db.prisma.workspace.findUnique({ where: { id: ref } });
    if (byId) return byId;
  }
  const byName = await db.prisma.workspace.findFirst({ where: { name: ref }, orderBy: { createdAt: "asc" } });
  if (byName) return byName;
  return db.prisma.workspace.create({ data: { name: ref } });
}

/** `ref` is a workspace id or name; 404 when there is none. */
export async function findWorkspace(db: Database, ref: string): Promise<{ id: string; name: string }> {
  const byId = isUuid(ref) ? await db.prisma.workspace.findUnique({ where: { id: ref } }) : null;
  const found = byId ?? (await db.prisma.workspace.findFirst({ where: { name: ref }, orderBy: { createdAt: "asc" } }));
  if (!found) throw ApiError.notFound(`Workspace '${ref}'`);
  return found;
}
