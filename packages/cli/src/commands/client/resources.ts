/**
 * Client commands over the API's resources: jobs, estimate, models, pricing, me, balance,
 * topup, auto-recharge, prisms, characters, cards, assets, api-keys, health, ready, spec.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import type { Job } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { keyLimitsText, keyUpdateBody, withKeyUpdateOptions, type KeyUpdateFlags } from "../key-update-flags.ts";
import {
  action, clientCommand, collect, finishJob, followJob, keyValues, makeClient, output, parseInteger, parsePositive,
  saveOutputs, table, usd, type ClientOptions,
} from "./common.ts";

type Flags = ClientOptions & Record<string, any>;

function parseJsonFlag(value: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    return parsed as Record<string, unknown>;
  } catch {
    throw new UsageError(`${flag} must be a JSON object, e.g. '{"style":"noir"}'`);
  }
}

function jobSummary(job: Job): string {
  return keyValues(job as unknown as Record<string, unknown>, ["job_id", "type", "status", "model", "progress_pct", "estimated_cost_usd", "charged_cost_usd", "output_urls", "asset_ids", "error", "created_at", "completed_at"]);
}

export function registerResources(program: Command): void {
  // ---- jobs ----
  const jobs = program.command("jobs").description("Follow, inspect and cancel jobs");
  clientCommand(jobs.command("get").description("Show a job (GET /v1/jobs/{id})").argument("<id>", "job id")).action(
    action(async (id: string, flags: Flags) => {
      const job = await makeClient(flags).jobs.get(id);
      output(flags, job, () => jobSummary(job));
    }),
  );
  clientCommand(
    jobs
      .command("watch")
      .description("Follow a job until it ends (GET /v1/jobs/{id}/events, falls back to polling); Ctrl-C stops watching without cancelling")
      .argument("<id>", "job id: the job_id that `aeriox image|video|speak … --no-wait` prints, or that a POST /v1/…/generate response returns")
      .option("-o, --out <file>", "save the outputs when it completes")
      .option("--timeout <seconds>", "stop watching after this long"),
  ).action(
    action(async (id: string, flags: Flags) => {
      const client = makeClient(flags);
      const start = await client.jobs.get(id);
      const done = await followJob(client, start, flags, { cancelOnAbort: false, ...(flags.timeout && { timeoutS: parsePositive(flags.timeout, "--timeout") }) });
      const files = flags.out ? await saveOutputs(client, done, flags.out) : undefined;
      output(flags, { ...done, ...(files && { files }) }, () => jobSummary(done) + (files ? "\n" + files.map((f) => `saved  ${f}`).join("\n") : ""));
    }),
  );
  clientCommand(jobs.command("cancel").description("Cancel a queued or running job and refund its reservation (DELETE /v1/jobs/{id})").argument("<id>", "job id")).action(
    action(async (id: string, flags: Flags) => {
      const job = await makeClient(flags).jobs.cancel(id);
      output(flags, job, () => jobSummary(job));
    }),
  );

  // ---- estimate / catalog / account ----
  clientCommand(
    program
      .command("estimate")
      .description("Estimate the cost of a generation without spending (POST /v1/estimate)")
      .requiredOption("-m, --model <model>", "model id")
      .requiredOption("-p, --prompt <prompt>", "the prompt (or text)")
      .option("-d, --duration <seconds>", "video length in seconds"),
  ).action(
    action(async (flags: Flags) => {
      const est = await makeClient(flags).estimate({
        model: flags.model,
        prompt: flags.prompt,
        ...(flags.duration !== undefined && { duration: parseInteger(flags.duration, "--duration", 1) }),
      });
      output(flags, est, () =>
        [
          `${est.model}: ${usd(est.usd)} (about ${est.estimated_seconds} s)`,
          est.would_succeed ? "would succeed" : `would be refused: ${est.reasons_blocked.join(", ")}`,
          ...(est.current_balance !== undefined ? [`available balance: ${usd(est.current_balance)}`] : []),
        ].join("\n"),
      );
    }),
  );

  clientCommand(program.command("models").description("Models, capabilities and unit prices (GET /v1/models)")).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags).models.list();
      output(flags, res, () => table(res.data.map((m) => ({ ...m, price: `${usd(m.cost_usd_per_unit)}/${m.unit}` })), ["model_id", "type", "provider", "price"]));
    }),
  );

  clientCommand(program.command("pricing").description("The USD price list (GET /v1/pricing, public)")).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags, { needsKey: false }).pricing.get();
      output(flags, res, () => table(res.operations.map((o) => ({ ...o, price: `${usd(o.price_usd)}/${o.unit}` })), ["operation_id", "model", "provider", "price"]));
    }),
  );

  clientCommand(program.command("me").description("The calling key and its workspace (GET /v1/me)")).action(
    action(async (flags: Flags) => {
      const me = await makeClient(flags).me();
      output(flags, me, () =>
        keyValues({ workspace: me.workspace.name, workspace_id: me.workspace.id, plan: me.workspace.plan, key: me.api_key.prefix, scopes: me.api_key.scopes?.join(","), daily_cap_usd: me.api_key.daily_spend_cap_usd }),
      );
    }),
  );

  clientCommand(
    program
      .command("balance")
      .description("Wallet balance and recent transactions (GET /v1/wallet)")
      .option("-n, --limit <n>", "number of recent transactions"),
  ).action(
    action(async (flags: Flags) => {
      const w = await makeClient(flags).wallet.get(flags.limit !== undefined ? { limit: parseInteger(flags.limit, "--limit", 1) } : undefined);
      output(flags, w, () =>
        [
          keyValues({ available: usd(w.balance.available_usd), reserved: usd(w.balance.reserved_usd), total: usd(w.balance.total_usd) }),
          "",
          table(w.recent_transactions as Record<string, unknown>[], ["created_at", "kind", "amount_usd", "job_id"]),
        ].join("\n"),
      );
    }),
  );

  clientCommand(
    program
      .command("topup")
      .description("Start a wallet top-up: creates a Stripe PaymentIntent (POST /v1/wallet/topup)")
      .requiredOption("--amount <usd>", "amount in USD (5-1000)")
      .option("--payment-method <id>", "saved Stripe payment method"),
  ).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags).wallet.topup({ amount_usd: parsePositive(flags.amount, "--amount"), ...(flags.paymentMethod && { payment_method_id: flags.paymentMethod }) });
      output(flags, res, () => keyValues(res as Record<string, unknown>));
    }),
  );

  clientCommand(
    program
      .command("auto-recharge")
      .description("Configure or clear wallet auto-recharge (POST /v1/wallet/auto-recharge)")
      .option("--disable", "turn auto-recharge off")
      .option("--threshold <usd>", "recharge when the balance falls below this")
      .option("--amount <usd>", "amount to add each time")
      .option("--payment-method <id>", "saved Stripe payment method"),
  ).action(
    action(async (flags: Flags) => {
      let body: Parameters<ReturnType<typeof makeClient>["wallet"]["autoRecharge"]>[0];
      if (flags.disable) body = { enabled: false };
      else {
        if (!flags.threshold || !flags.amount || !flags.paymentMethod) throw new UsageError("auto-recharge needs --threshold, --amount and --payment-method (or --disable)");
        body = { enabled: true, threshold_usd: parsePositive(flags.threshold, "--threshold"), amount_usd: parsePositive(flags.amount, "--amount"), stripe_payment_method_id: flags.paymentMethod };
      }
      const res = await makeClient(flags).wallet.autoRecharge(body);
      output(flags, res, () => keyValues(res as Record<string, unknown>));
    }),
  );

  // ---- prisms ----
  const prisms = program.command("prisms").description("One-click presets: list and apply");
  const listPrisms = clientCommand(
    prisms
      .command("list", { isDefault: true })
      .description("The prism catalog (GET /v1/prisms)")
      .option("--category <c>", "filter by category")
      .option("--compatible-with <kind>", "image, video or audio"),
  ).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags).prisms.list({ ...(flags.category && { category: flags.category }), ...(flags.compatibleWith && { compatible_with: flags.compatibleWith }) });
      output(flags, res, () => table(res.data.map((p) => ({ ...p, compatible_with: p.compatible_with.join(",") })), ["id", "name", "category", "compatible_with"]));
    }),
  );
  void listPrisms;
  clientCommand(
    prisms
      .command("apply")
      .description("Apply a prism to an asset or to a new generation (POST /v1/prisms/{id}/apply)")
      .argument("<prism-id>", "prism id")
      .option("--asset <id>", "apply to this asset")
      .option("--prompt <text>", "or generate a new image (or video with --video) with this prompt")
      .option("-m, --model <model>", "model for the new generation", "local/image")
      .option("--video", "generate a video instead of an image")
      .option("-o, --out <file>", "write the output here")
      .option("--no-wait", "print the queued job and return")
      .option("--timeout <seconds>", "give up waiting (and cancel) after this long"),
  ).action(
    action(async (id: string, flags: Flags) => {
      if (!flags.asset && !flags.prompt) throw new UsageError("prisms apply needs --asset ID or --prompt TEXT");
      const params = flags.prompt ? { model: flags.model === "local/image" && flags.video ? "local/video" : flags.model, prompt: flags.prompt } : undefined;
      const client = makeClient(flags);
      const job = await client.prisms.apply(id, {
        ...(flags.asset && { asset_id: flags.asset }),
        ...(params && (flags.video ? { video_params: params } : { image_params: params })),
      });
      await finishJob(client, job, flags);
    }),
  );

  // ---- characters ----
  const characters = program.command("characters").description("Custom characters: list, get, create (train), delete");
  clientCommand(
    characters.command("list").description("Characters of the workspace (GET /v1/characters)").option("-n, --limit <n>", "page size").option("--cursor <c>", "page cursor").option("--all", "every page"),
  ).action(
    action(async (flags: Flags) => {
      const client = makeClient(flags);
      const query = { ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }), ...(flags.cursor && { cursor: flags.cursor }) };
      const res = flags.all ? { data: await client.characters.list(query).toArray(), next_cursor: null } : await client.characters.list(query);
      output(flags, res, () => table(res.data as unknown as Record<string, unknown>[], ["id", "name", "status", "created_at"]) + (res.next_cursor ? `\nmore: --cursor ${res.next_cursor}` : ""));
    }),
  );
  clientCommand(characters.command("get").description("One character (GET /v1/characters/{id})").argument("<id>", "character id")).action(
    action(async (id: string, flags: Flags) => {
      const c = await makeClient(flags).characters.get(id);
      output(flags, c, () => keyValues(c as unknown as Record<string, unknown>));
    }),
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
    action(async (flags: Flags) => {
      const client = makeClient(flags);
      const attributes = parseJsonFlag(flags.attributes, "--attributes");
      const job = await client.characters.create({ name: flags.name, image_urls: flags.image, ...(attributes && { attributes }) });
      const characterId = (job as { character_id?: string }).character_id;
      await finishJob(client, job, flags, characterId ? { character_id: characterId } : {});
    }),
  );
  clientCommand(characters.command("delete").description("Soft-delete a character (DELETE /v1/characters/{id})").argument("<id>", "character id")).action(
    action(async (id: string, flags: Flags) => {
      await makeClient(flags).characters.delete(id);
      output(flags, { id, deleted: true }, () => `deleted character ${id}`);
    }),
  );

  // ---- cards ----
  const cards = program.command("cards").description("The card library: list, get, create, delete, search, render");
  clientCommand(
    cards
      .command("list")
      .description("Cards (GET /v1/cards)")
      .option("--type <t>", "card type")
      .option("--scope <s>", "visibility scope")
      .option("--globals-only", "only global cards")
      .option("--parent <id>", "children of this card")
      .option("-n, --limit <n>", "page size")
      .option("--offset <n>", "skip this many"),
  ).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags).cards.list({
        ...(flags.type && { type: flags.type }),
        ...(flags.scope && { scope: flags.scope }),
        ...(flags.globalsOnly && { globals_only: "1" as const }),
        ...(flags.parent && { parent_id: flags.parent }),
        ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.offset && { offset: parseInteger(flags.offset, "--offset", 0) }),
      });
      output(flags, res, () => table(res.data as Record<string, unknown>[], ["id", "card_type", "name", "created_at"]));
    }),
  );
  clientCommand(cards.command("get").description("A card and its edges (GET /v1/cards/{id})").argument("<id>", "card id")).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).cards.get(id);
      output(flags, res, () => keyValues(res.card as Record<string, unknown>) + `\nedges    ${res.edges.length}`);
    }),
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
    action(async (flags: Flags) => {
      const attributes = parseJsonFlag(flags.attributes, "--attributes");
      const res = await makeClient(flags).cards.create({
        name: flags.name,
        ...(flags.type && { card_type: flags.type }),
        ...(flags.description && { description: flags.description }),
        ...(attributes && { attributes }),
        ...(flags.parent && { parent_id: flags.parent }),
        ...(flags.previewUrl && { preview_url: flags.previewUrl }),
      });
      output(flags, res, () => keyValues(res.card as Record<string, unknown>, ["id", "card_type", "name", "created_at"]));
    }),
  );
  clientCommand(cards.command("delete").description("Soft-delete a card (DELETE /v1/cards/{id})").argument("<id>", "card id")).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).cards.delete(id);
      output(flags, res, () => `deleted card ${id}`);
    }),
  );
  clientCommand(
    cards
      .command("search")
      .description("Semantic search over the card library (GET /v1/cards/search)")
      .argument("<query>", "what to look for")
      .option("-n, --limit <n>", "max results")
      .option("--type <t>", "card type")
      .option("--min-similarity <x>", "0..1"),
  ).action(
    action(async (q: string, flags: Flags) => {
      const res = await makeClient(flags).cards.search({
        q,
        ...(flags.limit && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.type && { card_type: flags.type }),
        ...(flags.minSimilarity && { min_similarity: Number(flags.minSimilarity) }),
      });
      output(flags, res, () => table(res.items.map((i) => ({ ...i, similarity: i.similarity.toFixed(3) })), ["id", "card_type", "name", "similarity"]));
    }),
  );
  clientCommand(cards.command("render").description("A card's structured back-side payload (GET /v1/cards/{id}/render)").argument("<id>", "card id")).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).cards.render(id);
      output(flags, res, () => JSON.stringify(res, null, 2));
    }),
  );

  // ---- assets ----
  const assets = program.command("assets").description("Stored outputs: metadata and download");
  clientCommand(assets.command("get").description("Asset metadata and a fresh signed URL (GET /v1/assets/{id})").argument("<id>", "asset id")).action(
    action(async (id: string, flags: Flags) => {
      const a = await makeClient(flags).assets.get(id);
      output(flags, a, () => keyValues(a as unknown as Record<string, unknown>));
    }),
  );
  clientCommand(
    assets
      .command("download")
      .description("Download an asset's bytes (GET /v1/assets/{id}/content through a fresh signed URL)")
      .argument("<id>", "asset id")
      .requiredOption("-o, --out <file>", "where to write it (missing folders are created)"),
  ).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).assets.download(id);
      const bytes = new Uint8Array(await res.arrayBuffer());
      mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
      writeFileSync(flags.out, bytes);
      output(flags, { id, file: flags.out, size_bytes: bytes.length, content_type: res.headers.get("content-type") }, () => `saved ${flags.out} (${bytes.length} bytes)`);
    }),
  );

  // ---- API keys over the API (the admin `keys` command works on the database directly) ----
  const apiKeys = program.command("api-keys").description("Manage the workspace's API keys through the API (admin scope)");
  clientCommand(
    apiKeys
      .command("create")
      .description("Create a key; its secret is shown once (POST /v1/api-keys)")
      .option("--name <name>", "label")
      .option("--scopes <list>", "comma-separated: generate,read,admin")
      .option("--daily-cap <usd>", "daily spend cap in USD"),
  ).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags).apiKeys.create({
        ...(flags.name && { name: flags.name }),
        ...(flags.scopes && { scopes: String(flags.scopes).split(",").map((s) => s.trim()) as ("read" | "generate" | "admin")[] }),
        ...(flags.dailyCap && { daily_spend_cap_usd: parsePositive(flags.dailyCap, "--daily-cap") }),
      });
      output(flags, res, () => `${res.key}\n(shown once; key id ${res.key_id}, scopes ${res.scopes.join(",")})`);
    }),
  );
  clientCommand(apiKeys.command("list").description("Keys of the workspace, metadata only (GET /v1/api-keys)")).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags).apiKeys.list();
      output(flags, res, () => table(res.data.map((k) => ({ ...k, scopes: k.scopes.join(",") })), ["id", "prefix", "name", "scopes", "revoked_at"]));
    }),
  );
  clientCommand(
    withKeyUpdateOptions(
      apiKeys
        .command("update")
        .description("Change a key's name, scopes, daily cap, monthly budget or allowed models (PATCH /v1/api-keys/{id})")
        .argument("<id>", "key id"),
    ),
  ).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).apiKeys.update(id, keyUpdateBody(flags as KeyUpdateFlags));
      output(flags, res, () => keyLimitsText(res));
    }),
  );
  clientCommand(apiKeys.command("revoke").description("Revoke a key now (DELETE /v1/api-keys/{id})").argument("<id>", "key id")).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).apiKeys.revoke(id);
      output(flags, res, () => `revoked ${res.prefix}`);
    }),
  );
  clientCommand(apiKeys.command("rotate").description("Rotate a key; the old one keeps working for a grace period (POST /v1/api-keys/{id}/rotate)").argument("<id>", "key id")).action(
    action(async (id: string, flags: Flags) => {
      const res = await makeClient(flags).apiKeys.rotate(id);
      output(flags, res, () => `${res.new_key}\n(shown once; new key id ${res.new_key_id})`);
    }),
  );

  // ---- server probes ----
  clientCommand(program.command("health").description("Liveness of the API server (GET /healthz, public)")).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags, { needsKey: false }).health();
      output(flags, res, () => res.status);
    }),
  );
  clientCommand(program.command("ready").description("Readiness of the API server and its dependencies (GET /readyz, public)")).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags, { needsKey: false }).readiness();
      output(flags, res, () => `${res.status}\n${keyValues(res.checks as Record<string, unknown>)}`);
    }),
  );
  clientCommand(program.command("spec").description("The OpenAPI document the server speaks (GET /openapi.json, public)")).action(
    action(async (flags: Flags) => {
      const res = await makeClient(flags, { needsKey: false }).openapi();
      process.stdout.write(JSON.stringify(res, null, flags.json ? 0 : 2) + "\n");
    }),
  );
}
