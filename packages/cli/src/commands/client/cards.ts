/** `aeriox cards list | get | create | delete | search | render`: the card library (…/v1/cards). */
import type { Command } from "@commander-js/extra-typings";
import { action, clientCall, clientCommand, keyValues, makeClient, output, parseInteger, parseJsonFlag, table } from "./common.ts";

export function registerCards(program: Command): void {
  const cards = program.command("cards").description("The card library: list, get, create, delete, search, render");
  clientCall(
    cards
      .command("list")
      .description("Cards (GET /v1/cards)")
      .option("--type <t>", "card type")
      .option("--scope <s>", "visibility scope")
      .option("--globals-only", "only global cards")
      .option("--parent <id>", "children of this card")
      .option("-n, --limit <n>", "page size")
      .option("--offset <n>", "skip this many"),
    (client, flags) =>
      client.cards.list({
        ...(flags.type && { type: flags.type }),
        ...(flags.scope && { scope: flags.scope }),
        ...(flags.globalsOnly && { globals_only: "1" as const }),
        ...(flags.parent && { parent_id: flags.parent }),
        ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.offset && { offset: parseInteger(flags.offset, "--offset", 0) }),
      }),
    (res) => table(res.data, ["id", "card_type", "name", "created_at"]),
  );
  clientCall(
    cards.command("get").description("A card and its edges (GET /v1/cards/{id})").argument("<id>", "card id"),
    (client, id) => client.cards.get(id),
    (res) => keyValues(res.card) + `\nedges    ${res.edges.length}`,
  );
  clientCommand(
    cards
      .command("create")
      .description("Create a card (POST /v1/cards)")
      .requiredOption("--name <name>", "card name")
      .requiredOption("--type <t>", "card type (e.g. style, character, location)")
      .option("--description <text>", "description")
      .option("--attributes <json>", "a JSON object")
      .option("--parent <id>", "parent card id")
      .option("--preview-url <url>", "preview image URL"),
  ).action(
    action(async (flags) => {
      const attributes = parseJsonFlag(flags.attributes, "--attributes");
      const res = await makeClient(flags).cards.create({
        name: flags.name,
        ...(flags.type && { card_type: flags.type }),
        ...(flags.description && { description: flags.description }),
        ...(attributes && { attributes }),
        ...(flags.parent && { parent_id: flags.parent }),
        ...(flags.previewUrl && { preview_url: flags.previewUrl }),
      });
      output(flags, res, () => keyValues(res.card, ["id", "card_type", "name", "created_at"]));
    }),
  );
  clientCall(
    cards.command("delete").description("Soft-delete a card (DELETE /v1/cards/{id})").argument("<id>", "card id"),
    (client, id) => client.cards.delete(id),
    (_res, id) => `deleted card ${id}`,
  );
  clientCall(
    cards
      .command("search")
      .description("Semantic search over the card library (GET /v1/cards/search)")
      .argument("<query>", "what to look for")
      .option("-n, --limit <n>", "max results")
      .option("--type <t>", "card type")
      .option("--min-similarity <x>", "0..1"),
    (client, q, flags) =>
      client.cards.search({
        q,
        ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.type && { card_type: flags.type }),
        ...(flags.minSimilarity && { min_similarity: Number(flags.minSimilarity) }),
      }),
    (res) => table(res.items.map((i) => ({ ...i, similarity: i.similarity.toFixed(3) })), ["id", "card_type", "name", "similarity"]),
  );
  clientCall(
    cards.command("render").description("A card's structured back-side payload (GET /v1/cards/{id}/render)").argument("<id>", "card id"),
    (client, id) => client.cards.render(id),
    (res) => JSON.stringify(res, null, 2),
  );
}
