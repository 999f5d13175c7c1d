/** `aeriox characters list | get | create | delete`: custom characters (…/v1/characters). */
import type { Command } from "@commander-js/extra-typings";
import { action, clientCall, clientCommand, collect, finishJob, keyValues, listPage, makeClient, moreHint, parseInteger, parseJsonFlag, table } from "./common.ts";

export function registerCharacters(program: Command): void {
  const characters = program.command("characters").description("Custom characters: list, get, create (train), delete");
  clientCall(
    characters.command("list").description("Characters of the workspace (GET /v1/characters)").option("-n, --limit <n>", "page size").option("--cursor <c>", "page cursor").option("--all", "every page"),
    (client, flags) => listPage(client.characters.list({ ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }), ...(flags.cursor && { cursor: flags.cursor }) }), flags.all),
    (res) => table(res.data, ["id", "name", "status", "created_at"]) + moreHint(res),
  );
  clientCall(
    characters.command("get").description("One character (GET /v1/characters/{id})").argument("<id>", "character id"),
    (client, id) => client.characters.get(id),
    (c) => keyValues(c),
  );
  clientCommand(
    characters
      .command("create")
      .description("Create a character from reference images and train it (POST /v1/characters)")
      .requiredOption("--name <name>", "character name")
      .requiredOption("--image <url>", "reference image URL (repeat, 1-5)", collect)
      .option("--attributes <json>", "free-form attributes, a JSON object")
      .option("--no-wait", "print the queued training job and return")
      .option("--timeout <seconds>", "give up waiting (and cancel) after this long"),
  ).action(
    action(async (flags) => {
      const client = makeClient(flags);
      const attributes = parseJsonFlag(flags.attributes, "--attributes");
      const job = await client.characters.create({ name: flags.name, image_urls: flags.image, ...(attributes && { attributes }) });
      const characterId = "character_id" in job && typeof job.character_id === "string" ? job.character_id : undefined;
      await finishJob(client, job, flags, characterId ? { character_id: characterId } : {});
    }),
  );
  clientCall(
    characters.command("delete").description("Soft-delete a character (DELETE /v1/characters/{id})").argument("<id>", "character id"),
    async (client, id) => {
      await client.characters.delete(id);
      return { id, deleted: true };
    },
    (_res, id) => `deleted character ${id}`,
  );
}
