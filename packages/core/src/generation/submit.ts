/**
 * The generation endpoints as domain functions: resolve the model, apply safety
 * checks, price the request from the catalog, and submit the job (which reserves
 * the price). No Express here; handlers call these.
 */
import type { Runtime } from "../runtime.ts";
import type { Principal } from "../auth/principal.ts";
import { ApiError } from "../errors.ts";
import { assertDurationAllowed, audioText, priceFor } from "../pricing/estimate.ts";
import { assertPromptAllowed, submitJob } from "../jobs/submit.ts";
import { resolveModel } from "./models.ts";
import { conditionVisual, providerVoiceOf, readyCharacter } from "./characters-ref.ts";
import { fitPrismDefaults, fitPrismNegative, withPrismRecipe } from "../prisms/recipe.ts";
import { composeOutputSize } from "../providers/compose-provider.ts";
import { assertInputsSupported, missingInput, unsupported } from "./capabilities.ts";
import { parseComposeEffects } from "./compose-effects.ts";

import type { GenerationServices, ImageRequest, VideoRequest, AudioRequest, ComposeRequest, LegacyGenerationRequest } from "./requests.ts";

export type { GenerationServices, ImageRequest, VideoRequest, AudioRequest, ComposeSegment, ComposeRequest, LegacyGenerationRequest } from "./requests.ts";

/** Image and video share one path: prism recipe, model check, safety check, character LoRA, price, submit. */
async function submitVisual<R extends ImageRequest | VideoRequest>(services: GenerationServices, principal: Principal, kind: "image" | "video", request: R, texts: (body: R) => Array<string | undefined>) {
  const body = withPrismRecipe(kind, request); // prism_id: the prism's prompt recipe
  let entry = resolveModel(services.catalog, body.model, kind);
  assertPromptAllowed(services.config, texts(body));
  let input: Record<string, unknown> = { ...body };
  // Refused before the character is looked up: a fixed-output model (local/echo) would ignore it.
  if (body.character_id !== undefined && entry.fixedOutput) throw unsupported("body.character_id", entry, "it returns one fixed output whatever is asked");
  if (body.character_id) {
    // The character's training decides how it conditions the model (characters-ref.ts); on fal the
    // job runs on the LoRA endpoint and is priced as that endpoint.
    const character = await readyCharacter(services, principal.workspaceId, body.character_id, "body.character_id");
    const conditioned = await conditionVisual(services, principal.workspaceId, character, entry, "body.character_id");
    entry = conditioned.entry;
    input = { ...input, ...conditioned.input, model: entry.model };
  }
  // The prism's own negative fragment is dropped for a model that takes none (prisms/recipe.ts, fitPrismNegative).
  if (body.prism_id) input = fitPrismNegative(entry, input, (request as ImageRequest).negative_prompt);
  // Its defaults a model would refuse (local/echo: size, seed; Kling 2.1: a duration other than 5 or 10 s) are dropped.
  if (body.prism_id) input = fitPrismDefaults(entry, input, request);
  // Every documented field is honoured by the model that runs the job, or refused here (400) before any reservation.
  assertInputsSupported(entry, input);
  return submitJob(services, { principal, type: kind, entry, input, priceMicros: priceFor(entry, input), model: entry.model, prismId: body.prism_id ?? null, characterId: body.character_id ?? null });
}

export function submitImage(services: GenerationServices, principal: Principal, request: ImageRequest) {
  return submitVisual(services, principal, "image", request, (body) => [body.prompt, body.negative_prompt]);
}

export function submitVideo(services: GenerationServices, principal: Principal, request: VideoRequest) {
  return submitVisual(services, principal, "video", request, (body) => [body.prompt, body.negative_prompt]);
}

/** ElevenLabs when the deployment has a key, otherwise the offline voice. */
export function defaultAudioModel(config: Pick<Runtime["config"], "ELEVENLABS_API_KEY">): string {
  return config.ELEVENLABS_API_KEY ? "eleven_v3_multilingual" : "local/tts";
}

export async function submitAudio(services: GenerationServices, principal: Principal, body: AudioRequest) {
  const model = body.model ?? defaultAudioModel(services.config);
  const entry = resolveModel(services.catalog, model, "audio");
  // The blocklist reads what will be spoken: overrides could otherwise assemble a blocked word.
  assertPromptAllowed(services.config, [audioText(body)]);
  const input: Record<string, unknown> = { ...body, model };
  if (body.character_voice_id) {
    const character = await readyCharacter(services, principal.workspaceId, body.character_voice_id, "body.character_voice_id");
    // local/tts speaks in the character's own voice, derived from it (input.character_voice_id);
    // other providers need a voice of theirs: the character's ElevenLabs voice, or 400 before any reservation.
    if (entry.provider !== "local") {
      const voice = providerVoiceOf(character);
      if (!voice) throw ApiError.badRequest("character_has_no_voice", `Character ${character.id} has no ElevenLabs voice (create it with voice_sample_urls or voice_id)`, { field: "body.character_voice_id" });
      input.voice_id = voice;
    }
  }
  return submitJob(services, { principal, type: "audio", entry, input, priceMicros: priceFor(entry, input), model });
}

export const COMPOSE_OPERATION = "compose.stitch_per_minute";

export async function submitCompose(services: GenerationServices, principal: Principal, body: ComposeRequest) {
  const entry = services.catalog.byOperation(COMPOSE_OPERATION);
  if (!entry) throw ApiError.unavailable("pricing_unavailable", `The catalog has no ${COMPOSE_OPERATION} operation`);
  const size = composeOutputSize(body.output_resolution, entry.maxResolution);
  if ("refused" in size) throw ApiError.badRequest("invalid_resolution", size.refused, { field: "body.output_resolution" });
  const ids = [...new Set(body.segments.map((s) => s.asset_id))];
  const found = await services.db.prisma.asset.findMany({ where: { id: { in: ids }, workspaceId: principal.workspaceId }, select: { id: true, contentType: true } });
  const byId = new Map(found.map((a) => [a.id, a]));
  body.segments.forEach((segment, index) => {
    const asset = byId.get(segment.asset_id);
    const field = `body.segments[${index}].asset_id`;
    if (!asset) throw ApiError.badRequest("asset_not_found", `Segment ${index}: asset ${segment.asset_id} does not exist in this workspace`, { field, segment: index });
    // Videos are trimmed; a still becomes a clip of the segment's duration (effects.motion may move over it).
    if (!asset.contentType.startsWith("video/") && !asset.contentType.startsWith("image/")) {
      throw ApiError.badRequest("asset_not_composable", `Segment ${index}: asset ${segment.asset_id} is ${asset.contentType}, not a video or an image`, { field, segment: index });
    }
  });
  const parsed = parseComposeEffects(
    body.segments.map((s) => ({ duration: s.duration, effects: s.effects, media: byId.get(s.asset_id)!.contentType.startsWith("image/") ? ("image" as const) : ("video" as const) })),
  );
  if ("problem" in parsed) throw ApiError.badRequest(parsed.problem.code, parsed.problem.message, { field: parsed.problem.field, model: entry.model });
  const input: Record<string, unknown> = { ...body, output_resolution: body.output_resolution ?? "1080p", output_format: body.output_format ?? "mp4" };
  return submitJob(services, { principal, type: "compose", entry, input, priceMicros: priceFor(entry, input), model: null });
}

/** `POST /v1/generate` (deprecated): routed by the model's kind to the image or video path. */
export async function submitLegacyGeneration(services: GenerationServices, principal: Principal, body: LegacyGenerationRequest) {
  const entry = services.catalog.byModel(body.model);
  if (!entry) resolveModel(services.catalog, body.model, "image"); // throws unknown_model
  if (entry?.kind === "video") {
    // The start image is `seed_image_url` here: an image-to-video-only model is refused naming it.
    if (entry.requiresImageUrl && !body.seed_image_url) throw missingInput("body.seed_image_url", entry, "it is an image-to-video endpoint (this endpoint takes the start image as seed_image_url)");
    // A duration the model does not make is refused naming this endpoint's field (`duration`); one over
    // max_duration_s is left to pricing (400 duration_too_long), as on POST /v1/videos/generate.
    if (typeof body.duration === "number" && (entry.maxDurationS === null || body.duration <= entry.maxDurationS)) assertDurationAllowed(entry, body.duration, "body.duration");
    const job = await submitVideo(services, principal, {
      model: body.model,
      prompt: body.prompt,
      // Sent to a model that takes a negative prompt (Kling), refused (400) by one that does not.
      ...(body.negative_prompt ? { negative_prompt: body.negative_prompt } : {}),
      ...(body.duration !== undefined ? { duration_s: body.duration } : {}),
      ...(body.with_audio !== undefined ? { with_audio: body.with_audio } : {}),
      ...(body.seed_image_url ? { image_url: body.seed_image_url } : {}),
      // Carried to the model when its entry honours them (aspect_ratios, accepts_resolution), else
      // refused (400 unsupported_parameter) before anything is reserved; loras are refused by every video model.
      ...(body.aspect_ratio !== undefined ? { aspect_ratio: body.aspect_ratio } : {}),
      ...(body.resolution !== undefined ? { resolution: body.resolution } : {}),
      ...(body.loras !== undefined ? { loras: body.loras } : {}),
    });
    return { job, kind: "video" as const };
  }
  const image = entry?.kind === "image" ? entry : resolveModel(services.catalog, body.model, "image"); // throws model_kind_mismatch
  // A still image has no duration and no sound: those fields are refused, not dropped.
  if (body.duration !== undefined) throw unsupported("body.duration", image, "it makes a still image");
  if (body.with_audio === true) throw unsupported("body.with_audio", image, "it makes a still image");
  const aspect = body.aspect_ratio as ImageRequest["aspect_ratio"];
  if (aspect !== undefined && !["1:1", "16:9", "9:16", "4:3", "3:4"].includes(aspect)) {
    throw ApiError.badRequest("invalid_request", "aspect_ratio must be one of 1:1, 16:9, 9:16, 4:3, 3:4", { field: "body.aspect_ratio" });
  }
  const job = await submitImage(services, principal, {
    model: body.model,
    prompt: body.prompt,
    ...(body.negative_prompt ? { negative_prompt: body.negative_prompt } : {}),
    ...(aspect ? { aspect_ratio: aspect } : {}),
    ...(body.resolution ? { resolution: body.resolution } : {}),
    ...(body.seed_image_url ? { seed_image_url: body.seed_image_url } : {}),
    ...(body.loras ? { loras: body.loras } : {}),
  });
  return { job, kind: "image" as const };
}
