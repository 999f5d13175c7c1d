/**
 * The generation requests and the services submitting them needs: types only, shared by
 * generation/submit.ts and the prism recipe (prisms/), which import nothing of each other's back.
 */
import type { components, operations } from "@aeriox/contract/api";
import type { Runtime } from "../runtime.ts";

export type GenerationServices = Pick<Runtime, "db" | "config" | "catalog" | "providers" | "queue" | "logger" | "storage">;

type Schemas = components["schemas"];

/** `POST /v1/images/generate` (GenerateImageRequest), as the validator hands it over. */
export type ImageRequest = Schemas["GenerateImageRequest"];

/**
 * `POST /v1/videos/generate` (GenerateVideoRequest). The deprecated `POST /v1/generate` may also
 * carry `loras` and a free-form `aspect_ratio` to a video model; each is checked against the
 * model's entry (capabilities.ts), never ignored.
 */
export type VideoRequest = Omit<Schemas["GenerateVideoRequest"], "with_audio" | "aspect_ratio"> & {
  /** Defaulted by the spec (false); prisms and the legacy route may leave it out. */
  with_audio?: boolean;
  /** The spec's enum on this endpoint; any string from the legacy route (refused unless the model makes it). */
  aspect_ratio?: string;
} & Pick<LegacyGenerationRequest, "negative_prompt" | "loras">;

/** `POST /v1/generate` (deprecated; its body is inline in the spec). */
export type LegacyGenerationRequest = NonNullable<operations["createGeneration"]["requestBody"]>["content"]["application/json"];

/** `POST /v1/audio/generate` (GenerateAudioRequest). */
export type AudioRequest = Schemas["GenerateAudioRequest"];

/** `POST /v1/compose` (ComposeRequest) and one of its segments. */
export type ComposeRequest = Schemas["ComposeRequest"];
export type ComposeSegment = ComposeRequest["segments"][number];
