/** Characters tag: create + train, list (cursor), get, soft delete. */
import { createCharacter, findWorkspaceCharacter, listCharacters, softDeleteCharacter, toCharacterBody } from "@aeriox/core/characters";
import { toJobBody } from "@aeriox/core/jobs";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const characterHandlers = defineHandlers({
  createCharacter: async (ctx) => {
    const { job, characterId } = await createCharacter(ctx.services, principalOf(ctx), ctx.body);
    return { status: 202, body: { ...toJobBody(job, ctx.services.signer), character_id: characterId } };
  },

  listCharacters: async (ctx) => {
    const page = await listCharacters(ctx.services, principalOf(ctx).workspaceId, ctx.query);
    return { status: 200, body: { data: page.characters.map(toCharacterBody), next_cursor: page.nextCursor } };
  },

  getCharacter: async (ctx) => {
    const character = await findWorkspaceCharacter(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: toCharacterBody(character) };
  },

  deleteCharacter: async (ctx) => {
    await softDeleteCharacter(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 204, body: undefined };
  },
});
