/** Job types (API) ↔ catalog kinds (pricing, providers). */
import type { OperationKind } from "../pricing/catalog.ts";
import type { JobType } from "./states.ts";

const KIND_OF_TYPE: Record<JobType, OperationKind> = {
  image: "image",
  video: "video",
  audio: "audio",
  compose: "compose",
  character_train: "training",
  prism_apply: "prism",
};

export function kindOfJob(type: string): OperationKind {
  return KIND_OF_TYPE[type as JobType] ?? "image";
}
