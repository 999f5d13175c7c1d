/**
 * The generation requests and the services submitting them needs: types only, shared by
 * generation/submit.ts and the prism recipe (prisms/), which import nothing of each other's back.
 */
import type { Runtime } from "../runtime.ts";

export type GenerationServices = Pick<Runtime, "db" | "config" | "catalog" | "providers" | "queue" | "logger" | "storage">;

export interface ImageRequest {
  model: string;
  prompt: string;
  negative_prompt?: string;
  aspect_ratio?: string;
  resolution?: string;
  seed_image_url?: string;
  loras?: Array<{ path: string; scale: number }>;
  seed?: number;
  character_id?: string;
  prism_id?: string;
}

export interface VideoRequest {
  model: string;
  prompt: string;
  image_url?: string;
  duration_s?: number;
  with_audio?: boolean;
  motion_id?: string;
  character_id?: string;
  prism_id?: string;
  /** Not in GenerateVideoRequest: only the deprecated POST /v1/generate carries these to a video model (checked against the entry, capabilities.ts). */
  negative_prompt?: string;
  aspect_ratio?: string;
  resolution?: string;
  loras?: Array<{ path: string; scale: number }>;
}

export interface AudioRequest {
  text: string;
  voice_id?: string;
  character_voice_id?: string;
  model?: string;
  phoneme_overrides?: Array<{ from: string; to: string }>;
}

export interface ComposeSegment {
  asset_id: string;
  start_time: number;
  duration: number;
  effects?: Record<string, unknown>;
}

export interface ComposeRequest {
  segments: ComposeSegment[];
  output_resolution?: string;
  output_format?: "mp4" | "webm";
}
