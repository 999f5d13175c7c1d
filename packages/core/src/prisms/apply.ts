/**
 * `POST /v1/prisms/{id}/apply`. Every application is ONE `prism_apply` job (so the
 * Job body carries `prism_id`, as the spec says "present only when type=prism_apply"),
 * run by the "aeriox" provider adapter:
 *
 * - `asset_id`: an offline transform of a stored workspace asset (pngjs / ffmpeg) into a
 *   new asset; priced at `prism.apply`.
 * - `image_params` / `video_params`: the recipe rewrites the params (prompt prefix/suffix,
 *   negative prompt, default parameters), the adapter delegates the generation to the
 *   underlying model's provider and then applies the recipe's offline transform to PNG
 *   outputs; priced at `prism.apply` + the underlying generation's price, reserved
 *   together in the one submitJob transaction. The job's `model` is the underlying model.
 *   The underlying catalog entry is snapshotted into the job input so the adapter bills
 *   and runs exactly what was priced.
 */
import type { Principal } from "../auth/principal.ts";
import { ApiError } from "../errors.ts";
import { assertPromptAllowed, assertProviderUsable, submitJob } from "../jobs/submit.ts";
import { serializeEntry } from "./entry.ts";
import { priceFor } from "../pricing/estimate.ts";
import { resolveModel } from "../generation/models.ts";
import { readyCharacter } from "../generation/characters-ref.ts";
import { assertInputsSupported } from "../generation/capabilities.ts";
import type { GenerationServices, ImageRequest, VideoRequest } from "../generation/requests.ts";
import { requirePrism, type PrismMedia } from "./catalog.ts";
import { applyRecipe, fitPrismDefaults, fitPrismNegative, incompatible } from "./recipe.ts";

export const PRISM_OPERATION = "prism.apply";

export interface ApplyPrismBody {
  asset_id?: string;
  image_params?: ImageRequest;
  video_params?: VideoRequest;
}

function mediaOfContentType(contentType: string): PrismMedia | null {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  if (t.startsWith("image/")) return "image";
  if (t.startsWith("video/")) return "video";
  if (t.startsWith("audio/")) return "audio";
  return null;
}

export async function submitPrismApply(services: GenerationServices, principal: Principal, prismId: string, body: ApplyPrismBody) {
  const prism = requirePrism(prismId);
  const given = (["asset_id", "image_params", "video_params"] as const).filter((k) => body[k] !== undefined && body[k] !== null);
  if (given.length !== 1) {
    const fields = (given.length === 0 ? ["asset_id", "image_params", "video_params"] : given).map((f) => `body.${f}`);
    throw ApiError.badRequest(
      "invalid_request",
      given.length === 0 ? "Provide exactly one of asset_id, image_params, video_params (none given)" : `Provide exactly one of asset_id, image_params, video_params (got ${given.join(", ")})`,
      { fields, field: fields[0]! },
    );
  }
  const prismEntry = services.catalog.byOperation(PRISM_OPERATION);
  if (!prismEntry) throw ApiError.unavailable("pricing_unavailable", `The catalog has no ${PRISM_OPERATION} operation`);
  const prismPrice = priceFor(prismEntry, {});

  if (body.asset_id !== undefined) {
    const asset = await services.db.prisma.asset.findFirst({ where: { id: body.asset_id, workspaceId: principal.workspaceId }, select: { id: true, contentType: true } });
    if (!asset) throw ApiError.badRequest("asset_not_found", `Asset ${body.asset_id} does not exist in this workspace`, { field: "body.asset_id" });
    const media = mediaOfContentType(asset.contentType);
    if (!media || !prism.compatible_with.includes(media)) throw incompatible(prism, media ?? asset.contentType, "body.asset_id");
    const input = { mode: "asset", prism_id: prism.id, asset_id: asset.id, media };
    return submitJob(services, { principal, type: "prism_apply", entry: prismEntry, input, priceMicros: prismPrice, model: prismEntry.model, prismId: prism.id });
  }

  const media = body.image_params !== undefined ? "image" : "video";
  const field = `body.${media}_params`;
  if (!prism.compatible_with.includes(media)) throw incompatible(prism, media, field);
  const params = applyRecipe(prism, media, (body.image_params ?? body.video_params)!);
  const entry = resolveModel(services.catalog, params.model, media);
  assertPromptAllowed(services.config, [params.prompt, (params as ImageRequest).negative_prompt]);
  assertProviderUsable(services, entry);
  let genInput: Record<string, unknown> = { ...params };
  if (media === "image") genInput = fitPrismNegative(entry, genInput, body.image_params?.negative_prompt);
  genInput = fitPrismDefaults(entry, genInput, (body.image_params ?? body.video_params)!);
  if (params.character_id) {
    const character = await readyCharacter(services, principal.workspaceId, params.character_id, `${field}.character_id`);
    if (character.loraUrl) genInput.lora_url = character.loraUrl;
  }
  assertInputsSupported(entry, genInput, field);
  const genPrice = priceFor(entry, genInput);
  const input = { mode: "generate", prism_id: prism.id, media, params: genInput, delegate: serializeEntry(entry), prism_price_micros: prismPrice.toString() };
  return submitJob(services, {
    principal,
    type: "prism_apply",
    entry: prismEntry,
    input,
    priceMicros: prismPrice + genPrice,
    model: params.model,
    prismId: prism.id,
    characterId: params.character_id ?? null,
  });
}
