/**
 * The price catalog: which operations exist, who runs them, and what they cost.
 *
 * Source of truth is the versioned data file `packages/core/data/catalog.v1.json`
 * (bundled, resolved relative to this module, never the cwd). A self-hoster may point
 * `PRICING_FILE` at an override file:
 *
 *   { "version": 1, "mode": "patch" | "replace", "operations": [ ... ] }
 *
 * - `mode: "patch"` (the default): each operation is matched by `operation_id`.
 *   An existing one gets the given fields replaced (e.g. only `price_usd_micros`);
 *   an unknown one must be a complete entry and is added; `{"operation_id": X, "remove": true}`
 *   drops X.
 * - `mode: "replace"`: the file is a complete catalog (also needs `currency`) and the
 *   bundled one is ignored.
 *
 * The merged result is validated with zod (strict: unknown fields are typos and fail).
 * A bad catalog never crashes start-up: `loadCatalog` returns a catalog whose every
 * use throws `CatalogUnavailableError` (HTTP 503 `pricing_unavailable`) with the reason,
 * so pricing-dependent endpoints fail clearly while the rest of the API keeps working.
 */
import fs from "node:fs";
import { z } from "zod";
import { ApiError } from "../errors.ts";
import { resourcePath } from "../resources.ts";
import type { Providers } from "../providers/registry.ts";
import { availabilityOf } from "./availability.ts";
import { PROVIDERS, type ProviderName } from "../providers/descriptors.ts";

export const BUNDLED_CATALOG_FILE = resourcePath("packages/core/data/catalog.v1.json", new URL("../../data/catalog.v1.json", import.meta.url));

/** The providers an entry may name: the rows of providers/descriptors.ts. */
export { PROVIDERS, type ProviderName };
export const KINDS = ["image", "video", "audio", "compose", "training", "prism"] as const;
export const UNITS = ["image", "megapixel", "second", "1k_characters", "output_minute", "training", "application"] as const;
export type OperationKind = (typeof KINDS)[number];
export type PriceUnit = (typeof UNITS)[number];

/**
 * The units each kind may be priced in; `priceFor` relies on them. Images: per image, or per
 * megapixel of the requested size where the provider bills that way (fal's FLUX endpoints).
 */
export const UNITS_OF_KIND: Record<OperationKind, readonly PriceUnit[]> = {
  image: ["image", "megapixel"],
  video: ["second"],
  audio: ["1k_characters"],
  compose: ["output_minute"],
  training: ["training"],
  prism: ["application"],
};

/**
 * Camera moves a video request may name in `motion_id` (documented in the spec). Which ones a
 * model honours is its catalog entry's `motion_ids`; any other is refused (400 unsupported_parameter).
 */
export const MOTION_IDS = ["static", "pan_left", "pan_right", "zoom_in", "zoom_out", "orbit"] as const;
export type MotionId = (typeof MOTION_IDS)[number];

/** The API's `aspect_ratio` values (media/sizes.ts ASPECT_RATIOS); a video model honours its entry's `aspect_ratios`. */
export const VIDEO_ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4"] as const;
export type VideoAspectRatio = (typeof VIDEO_ASPECT_RATIOS)[number];

/**
 * Operation ids and models renamed in the bundled catalog: a PRICING_FILE patch or a client
 * may still use the old names. `fal-ai/kling-3.0` was never a fal endpoint id.
 */
export const RENAMED_OPERATIONS: Record<string, string> = {
  "video.fal-ai/kling-3.0": "video.fal-ai/kling-video/v3/pro/text-to-video",
};

const micros = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const resolution = z.string().regex(/^\d{2,5}x\d{2,5}$/, 'must be "WIDTHxHEIGHT", e.g. "1920x1080"');

const entrySchema = z.strictObject({
  operation_id: z.string().min(3),
  model: z.string().min(1),
  /** Id sent to the provider when it differs from our public model id (e.g. eleven_v3). */
  provider_model: z.string().min(1).optional(),
  provider: z.enum(PROVIDERS),
  kind: z.enum(KINDS),
  unit: z.enum(UNITS),
  price_usd_micros: micros,
  /** Video only: per-second price when `with_audio` is requested. */
  price_with_audio_usd_micros: micros.optional(),
  /** Lowest charge for one operation (compose). */
  min_price_usd_micros: micros.optional(),
  /** Video only: duration used when the request has none. */
  default_duration_s: z.number().int().min(1).optional(),
  max_resolution: resolution.nullable().default(null),
  max_duration_s: z.number().int().min(1).nullable().default(null),
  supports_audio: z.boolean().default(false),
  /** Rough wall-clock, for /v1/estimate's `estimated_seconds`. */
  typical_latency_s: z.number().min(0).optional(),
  /** Other model ids clients may send for this entry (renamed ids). */
  aliases: z.array(z.string().min(1)).optional(),
  /** Image: whether `seed_image_url` is honoured (fal: through `image_to_image_provider_model`). */
  accepts_seed_image: z.boolean().optional(),
  /** Image, fal: the image-to-image endpoint run when `seed_image_url` is given (fal fetches the image). */
  image_to_image_provider_model: z.string().min(1).optional(),
  /** Video: whether `image_url` (first frame) is honoured. */
  accepts_image_url: z.boolean().optional(),
  /** Video, fal: the image-to-video endpoint run when `image_url` is given, and the field it takes the URL in. */
  image_to_video_provider_model: z.string().min(1).optional(),
  image_url_field: z.string().min(1).optional(),
  /** Video: the `motion_id` values the model honours (subset of MOTION_IDS). */
  motion_ids: z.array(z.enum(MOTION_IDS)).optional(),
  /**
   * Image or video: whether `negative_prompt` is sent to (and honoured by) the model. FLUX on fal
   * takes none (its endpoints have no such input); Kling's endpoints do.
   */
  accepts_negative_prompt: z.boolean().optional(),
  /** Video: the endpoint is image-to-video only, so a request without `image_url` is refused at submit. */
  requires_image_url: z.boolean().optional(),
  /**
   * Image: whether caller `loras` are sent to (and loaded by) the model. Only fal's FLUX LoRA
   * endpoints take LoRAs; FLUX [schnell]/[dev]/1.1 [pro] and local/image have no such input.
   */
  accepts_loras: z.boolean().optional(),
  /**
   * Video: the `aspect_ratio` values the model makes (deprecated POST /v1/generate, the one request
   * carrying one to a video model). fal Kling text-to-video: 16:9, 9:16, 1:1 (an image-to-video run
   * follows its start image, so none); local/video: all five.
   */
  aspect_ratios: z.array(z.enum(VIDEO_ASPECT_RATIOS)).optional(),
  /** Video: whether a `resolution` (deprecated POST /v1/generate) is honoured, up to `max_resolution`. Kling's endpoints make a fixed size. */
  accepts_resolution: z.boolean().optional(),
  /**
   * Video: the only durations (whole seconds) the model makes, when it makes only some (fal's Kling
   * 2.1 endpoints take "5" or "10"); any other `duration_s` is refused at submit and estimate.
   * Absent or empty (a PRICING_FILE patch lifting the rule): any whole number up to `max_duration_s`.
   */
  durations_s: z.array(z.number().int().min(1)).optional(),
  /**
   * Image: the model returns one fixed output whatever is asked (local/echo, a diagnostic), so
   * `resolution`, `aspect_ratio`, `seed` and `character_id` are refused.
   */
  fixed_output: z.boolean().optional(),
  notes: z.string().nullable().optional(),
});

const catalogSchema = z.strictObject({
  version: z.literal(1),
  currency: z.literal("USD"),
  operations: z.array(entrySchema).min(1),
});

const overrideSchema = z.strictObject({
  version: z.literal(1),
  mode: z.enum(["patch", "replace"]).default("patch"),
  currency: z.literal("USD").optional(),
  operations: z.array(z.looseObject({ operation_id: z.string().min(3), remove: z.boolean().optional() })),
});

type RawEntry = z.infer<typeof entrySchema>;

/** One catalog operation, with money as bigint micros. */
export interface CatalogEntry {
  operationId: string;
  model: string;
  providerModel: string;
  provider: ProviderName;
  kind: OperationKind;
  unit: PriceUnit;
  priceMicros: bigint;
  priceWithAudioMicros: bigint | null;
  minPriceMicros: bigint;
  defaultDurationS: number | null;
  maxResolution: string | null;
  maxDurationS: number | null;
  supportsAudio: boolean;
  typicalLatencyS: number | null;
  notes: string | null;
  /**
   * Input capabilities (optional: entries built by hand, or snapshotted into a job before they
   * existed, have none — every such field is then refused).
   */
  aliases?: string[];
  acceptsSeedImage?: boolean;
  imageToImageProviderModel?: string | null;
  acceptsImageUrl?: boolean;
  imageToVideoProviderModel?: string | null;
  imageUrlField?: string;
  motionIds?: MotionId[];
  acceptsNegativePrompt?: boolean;
  requiresImageUrl?: boolean;
  acceptsLoras?: boolean;
  aspectRatios?: VideoAspectRatio[];
  acceptsResolution?: boolean;
  durationsS?: number[];
  fixedOutput?: boolean;
}

export interface Catalog {
  readonly version: number;
  readonly currency: "USD";
  /** Where the (override) data came from, for logs and /readyz. */
  readonly source: string;
  /** Null when usable; otherwise the reason every method throws. */
  readonly error: CatalogUnavailableError | null;
  byModel(model: string): CatalogEntry | undefined;
  byOperation(operationId: string): CatalogEntry | undefined;
  /** Like byModel, but 400 `unknown_model` when absent or of another kind. */
  requireModel(model: string, kind?: OperationKind): CatalogEntry;
  list(): CatalogEntry[];
}

export class CatalogUnavailableError extends ApiError {
  constructor(message: string) {
    super(503, "pricing_unavailable", message);
    this.name = "CatalogUnavailableError";
  }
}

export interface LoadCatalogOptions {
  /** Override file (the `PRICING_FILE` setting); absent → bundled catalog only. */
  file?: string | undefined;
  /** For tests: another base catalog instead of the bundled one. */
  bundledFile?: string;
}

/** Never throws: a bad catalog yields a Catalog whose methods throw CatalogUnavailableError. */
export function loadCatalog(options: LoadCatalogOptions = {}): Catalog {
  try {
    return loadCatalogOrThrow(options);
  } catch (err) {
    const error = err instanceof CatalogUnavailableError ? err : new CatalogUnavailableError(`Pricing catalog unavailable: ${(err as Error).message}`);
    return unavailableCatalog(error, options.file ?? options.bundledFile ?? BUNDLED_CATALOG_FILE);
  }
}

/** Throws CatalogUnavailableError naming the file and the first problems; for `aeriox pricing check`-style tools. */
export function loadCatalogOrThrow(options: LoadCatalogOptions = {}): Catalog {
  const bundledFile = options.bundledFile ?? BUNDLED_CATALOG_FILE;
  const base = readJson(bundledFile);
  let merged: unknown = base;
  const source = options.file ? `${bundledFile} + ${options.file}` : bundledFile;
  if (options.file) {
    const parsedOverride = overrideSchema.safeParse(readJson(options.file));
    if (!parsedOverride.success) throw invalid(options.file, parsedOverride.error);
    merged = applyOverride(base, parsedOverride.data, options.file);
  }
  const parsed = catalogSchema.safeParse(merged);
  if (!parsed.success) throw invalid(options.file ?? bundledFile, parsed.error);
  const entries = parsed.data.operations.map(toEntry);
  checkConsistency(entries, options.file ?? bundledFile);
  return usableCatalog(entries, source);
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new CatalogUnavailableError(`Pricing file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CatalogUnavailableError(`Pricing file ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function invalid(file: string, error: z.ZodError): CatalogUnavailableError {
  const problems = error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
  return new CatalogUnavailableError(`Pricing file ${file} is invalid: ${problems.join("; ")}`);
}

function applyOverride(base: unknown, override: z.infer<typeof overrideSchema>, file: string): unknown {
  if (override.mode === "replace") {
    return { version: override.version, currency: override.currency, operations: override.operations };
  }
  const baseObj = base as { operations?: Array<Record<string, unknown>> };
  const ops = new Map<string, Record<string, unknown>>();
  for (const op of baseObj.operations ?? []) ops.set(String(op.operation_id), op);
  for (const given of override.operations) {
    const renamed = RENAMED_OPERATIONS[given.operation_id];
    const patch = renamed && !ops.has(given.operation_id) ? { ...given, operation_id: renamed } : given;
    const { remove, ...fields } = patch;
    if (remove) {
      if (!ops.delete(patch.operation_id)) throw new CatalogUnavailableError(`Pricing file ${file}: cannot remove unknown operation ${patch.operation_id}`);
      continue;
    }
    ops.set(patch.operation_id, { ...(ops.get(patch.operation_id) ?? {}), ...fields });
  }
  return { ...(base as object), operations: [...ops.values()] };
}

function toEntry(raw: RawEntry): CatalogEntry {
  return {
    operationId: raw.operation_id,
    model: raw.model,
    providerModel: raw.provider_model ?? raw.model,
    provider: raw.provider,
    kind: raw.kind,
    unit: raw.unit,
    priceMicros: BigInt(raw.price_usd_micros),
    priceWithAudioMicros: raw.price_with_audio_usd_micros === undefined ? null : BigInt(raw.price_with_audio_usd_micros),
    minPriceMicros: BigInt(raw.min_price_usd_micros ?? 0),
    defaultDurationS: raw.default_duration_s ?? null,
    maxResolution: raw.max_resolution,
    maxDurationS: raw.max_duration_s,
    supportsAudio: raw.supports_audio,
    typicalLatencyS: raw.typical_latency_s ?? null,
    notes: raw.notes ?? null,
    aliases: raw.aliases ?? [],
    acceptsSeedImage: raw.accepts_seed_image ?? false,
    imageToImageProviderModel: raw.image_to_image_provider_model ?? null,
    acceptsImageUrl: raw.accepts_image_url ?? false,
    imageToVideoProviderModel: raw.image_to_video_provider_model ?? null,
    imageUrlField: raw.image_url_field ?? "image_url",
    motionIds: raw.motion_ids ?? [],
    acceptsNegativePrompt: raw.accepts_negative_prompt ?? false,
    requiresImageUrl: raw.requires_image_url ?? false,
    acceptsLoras: raw.accepts_loras ?? false,
    aspectRatios: raw.aspect_ratios ?? [],
    acceptsResolution: raw.accepts_resolution ?? false,
    durationsS: raw.durations_s ?? [],
    fixedOutput: raw.fixed_output ?? false,
  };
}

/** Rules zod cannot express per entry: uniqueness and the id/unit conventions the API relies on. */
function checkConsistency(entries: CatalogEntry[], file: string): void {
  const problems: string[] = [];
  const ids = new Set<string>();
  const models = new Set<string>();
  for (const e of entries) {
    if (ids.has(e.operationId)) problems.push(`duplicate operation_id ${e.operationId}`);
    ids.add(e.operationId);
    for (const name of [e.model, ...(e.aliases ?? [])]) {
      if (models.has(name)) problems.push(`model ${name} appears in more than one operation`);
      models.add(name);
    }
    if (!UNITS_OF_KIND[e.kind].includes(e.unit)) problems.push(`${e.operationId}: kind ${e.kind} must use unit ${UNITS_OF_KIND[e.kind].join(" or ")}, not ${e.unit}`);
    if (e.unit === "megapixel" && !e.maxResolution) problems.push(`${e.operationId}: a megapixel price needs max_resolution (it bounds the price)`);
    if (e.acceptsSeedImage && e.kind !== "image") problems.push(`${e.operationId}: accepts_seed_image is for image models`);
    if (e.acceptsSeedImage && e.provider === "fal" && !e.imageToImageProviderModel) problems.push(`${e.operationId}: a fal model accepting seed images needs image_to_image_provider_model`);
    if (e.motionIds?.length && e.kind !== "video") problems.push(`${e.operationId}: motion_ids is for video models`);
    if (e.motionIds?.length && e.provider === "fal") problems.push(`${e.operationId}: the fal adapter maps no motion_id (no catalogued fal endpoint takes a camera move)`);
    if (e.acceptsNegativePrompt && e.kind !== "image" && e.kind !== "video") problems.push(`${e.operationId}: accepts_negative_prompt is for image and video models`);
    if (e.requiresImageUrl && (e.kind !== "video" || !e.acceptsImageUrl)) problems.push(`${e.operationId}: requires_image_url is for video models with accepts_image_url: true`);
    if (e.acceptsLoras && e.kind !== "image") problems.push(`${e.operationId}: accepts_loras is for image models`);
    if (e.aspectRatios?.length && e.kind !== "video") problems.push(`${e.operationId}: aspect_ratios is for video models (image models all take aspect_ratio)`);
    if (e.acceptsResolution && e.kind !== "video") problems.push(`${e.operationId}: accepts_resolution is for video models (image models all take resolution)`);
    if (e.acceptsResolution && !e.maxResolution) problems.push(`${e.operationId}: accepts_resolution needs max_resolution (it bounds the request)`);
    if (e.durationsS?.length) {
      if (e.kind !== "video") problems.push(`${e.operationId}: durations_s is for video models`);
      if (e.maxDurationS !== null && e.durationsS.some((d) => d > e.maxDurationS!)) problems.push(`${e.operationId}: durations_s must not exceed max_duration_s`);
      const fallback = e.defaultDurationS ?? 5; // DEFAULT_VIDEO_DURATION_S (pricing/estimate.ts)
      if (!e.durationsS.includes(fallback)) problems.push(`${e.operationId}: durations_s must include the default duration (${fallback} s)`);
    }
    if (e.fixedOutput && e.kind !== "image") problems.push(`${e.operationId}: fixed_output is for image models`);
    if (["image", "video", "audio"].includes(e.kind) && e.operationId !== `${e.kind}.${e.model}`) {
      problems.push(`${e.operationId}: a generation operation_id must be "${e.kind}.${e.model}"`);
    }
    if ((e.provider === "local") !== e.model.startsWith("local/")) problems.push(`${e.operationId}: local/* models and provider "local" go together`);
    if (e.priceWithAudioMicros !== null && !e.supportsAudio) problems.push(`${e.operationId}: price_with_audio_usd_micros needs supports_audio: true`);
  }
  if (problems.length) throw new CatalogUnavailableError(`Pricing file ${file} is invalid: ${problems.slice(0, 5).join("; ")}`);
}

function usableCatalog(entries: CatalogEntry[], source: string): Catalog {
  const byModel = new Map(entries.flatMap((e) => [e.model, ...(e.aliases ?? [])].map((name) => [name, e] as const)));
  const byOp = new Map(entries.map((e) => [e.operationId, e]));
  return {
    version: 1,
    currency: "USD",
    source,
    error: null,
    byModel: (model) => byModel.get(model),
    byOperation: (id) => byOp.get(id),
    requireModel(model, kind) {
      const entry = byModel.get(model);
      if (!entry || (kind && entry.kind !== kind)) {
        const known = entries.filter((e) => !kind || e.kind === kind).map((e) => e.model);
        const why = entry ? `is a ${entry.kind} model, not ${kind}` : "is not in the catalog";
        throw new ApiError(400, "unknown_model", `Model ${model} ${why}`, { model, known_models: known });
      }
      return entry;
    },
    list: () => [...entries],
  };
}

function unavailableCatalog(error: CatalogUnavailableError, source: string): Catalog {
  const fail = (): never => {
    throw error;
  };
  return { version: 1, currency: "USD", source, error, byModel: fail, byOperation: fail, requireModel: fail, list: fail };
}

/** Body of GET /v1/pricing (spec operation getPricing); `price_usd` derived, never summed. */
export function pricingResponse(catalog: Catalog, providers: Pick<Providers, "unavailableReason">, now: Date = new Date()) {
  return {
    currency: catalog.currency,
    micros_per_unit: 1_000_000,
    operations: catalog.list().map((e) => ({
      ...availabilityOf(providers, e.provider),
      operation_id: e.operationId,
      model: e.model,
      provider: e.provider,
      unit: e.unit,
      price_usd_micros: Number(e.priceMicros),
      price_usd: Number(e.priceMicros) / 1_000_000,
      notes: e.notes,
    })),
    generated_at: now.toISOString(),
  };
}
