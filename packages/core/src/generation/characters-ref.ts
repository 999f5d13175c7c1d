/** Resolving a request's `character_id` to what providers need (LoRA, voice). */
import type { Runtime } from "../runtime.ts";
import { ApiError } from "../errors.ts";

export async function readyCharacter(services: Pick<Runtime, "db">, workspaceId: string, characterId: string, field: string) {
  const character = await services.db.prisma.character.findFirst({ where: { id: characterId, workspaceId, deletedAt: null } });
  if (!character) throw ApiError.badRequest("character_not_found", `Character ${characterId} does not exist in this workspace`, { field });
  if (character.status !== "ready") {
    throw ApiError.badRequest("character_not_ready", `Character ${characterId} is ${character.status}, not ready`, { field, status: character.status });
  }
  return character;
}
