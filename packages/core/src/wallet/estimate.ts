/**
 * `POST /v1/estimate`: what a generation would cost and whether it would be accepted
 * now, without reserving anything or calling a provider. Every applicable reason is
 * reported (not only the first), with the figures behind them.
 */
import type { Runtime } from "../runtime.ts";
import type { Principal } from "../auth/principal.ts";
import type { CatalogEntry } from "../pricing/catalog.ts";
import { priceFor } from "../pricing/estimate.ts";
import { assertPromptAllowed } from "../jobs/submit.ts";
import { isApiError } from "../errors.ts";
import { unsupported } from "../generation/capabilities.ts";
import { microsToCredits, microsToUsd } from "../money.ts";
import { keySpend24h } from "./holds.ts";

export type EstimateServices = Pick<Runtime, "db" | "config" | "catalog" | "providers">;

export const P95_WINDOW = 200;
export const P95_MIN_SAMPLES = 20;
/** When the catalog has no typical latency for a model. */
export const DEFAULT_ESTIMATED_SECONDS = 30;

/**
 * Why a generation would not be accepted now. `image_url_required`: the model is image-to-video only
 * (catalog `requires_image_url`) and the estimate names no start image (`image_url`), so the same
 * request to `POST /v1/videos/generate` without `image_url` would be refused (400).
 */
export type BlockReason = "unknown_model" | "insufficient_credits" | "circuit_open" | "prompt_blocked" | "spend_cap_exceeded" | "provider_not_configured" | "image_url_required";
type EstimateKind = "image" | "video" | "audio" | "compose";

export interface EstimateInput {
  model: string;
  prompt: string;
  duration?: number | undefined;
  /**
   * The start image the generation will send (`image_url` of POST /v1/videos/generate). Never
   * fetched: it only says an image will be there. A model that takes none answers 400
   * `unsupported_parameter`, as the generation would.
   */
  image_url?: string | undefined;
}

export type SpendCapView = {
  daily_cap_usd: number;
  spent_24h_usd: number;
  remaining_usd: number;
};

export interface EstimateBody {
  credits: number;
  usd: number;
  estimated_seconds: number;
  model: string;
  kind?: EstimateKind;
  would_succeed: boolean;
  reasons_blocked: BlockReason[];
  current_balance: number;
  spend_cap: SpendCapView | null;
}

/** The request as the pricing rules read it, for each kind. */
function pricingRequest(entry: CatalogEntry, input: EstimateInput): Record<string, unknown> {
  switch (entry.kind) {
    case "video":
      return input.duration !== undefined ? { prompt: input.prompt, duration: input.duration } : { prompt: input.prompt };
    case "audio":
      return { text: input.prompt };
    case "compose":
      return { segments: [{ duration: input.duration ?? 0 }] };
    default:
      return { prompt: input.prompt };
  }
}

/** Nearest-rank p95 of the last ≤200 completed jobs of the model, in seconds; null below 20 samples. */
export async function p95Seconds(services: Pick<Runtime, "db">, model: string): Promise<number | null> {
  const rows = await services.db.prisma.$queryRaw<Array<{ duration_ms: number }>>`
    SELECT duration_ms FROM jobs
     WHERE model = ${model} AND status = 'completed' AND duration_ms IS NOT NULL
     ORDER BY completed_at DESC NULLS LAST LIMIT ${P95_WINDOW}`;
  if (rows.length < P95_MIN_SAMPLES) return null;
  const sorted = rows.map((r) => Number(r.duration_ms)).sort((a, b) => a - b);
  const ms = sorted[Math.ceil(0.95 * sorted.length) - 1]!;
  return Math.round(ms) / 1000;
}

export async function spendCapOf(services: Pick<Runtime, "db">, principal: Principal): Promise<{ capMicros: bigint; spentMicros: bigint } | null> {
  if (!principal.apiKeyId || principal.dailySpendCapMicros === null || principal.dailySpendCapMicros === undefined) return null;
  return { capMicros: principal.dailySpendCapMicros, spentMicros: await keySpend24h(services.db.prisma, principal.apiKeyId) };
}

export async function estimateGeneration(services: EstimateServices, principal: Principal, input: EstimateInput): Promise<EstimateBody> {
  const wallet = await services.db.prisma.wallet.findUnique({ where: { workspaceId: principal.workspaceId }, select: { balanceMicros: true, reservedMicros: true } });
  const available = (wallet?.balanceMicros ?? 0n) - (wallet?.reservedMicros ?? 0n);
  const cap = await spendCapOf(services, principal);
  const spendCap: SpendCapView | null = cap
    ? {
        daily_cap_usd: microsToUsd(cap.capMicros),
        spent_24h_usd: microsToUsd(cap.spentMicros),
        remaining_usd: microsToUsd(cap.capMicros > cap.spentMicros ? cap.capMicros - cap.spentMicros : 0n),
      }
    : null;
  const common = { model: input.model, current_balance: microsToUsd(available), spend_cap: spendCap };

  const entry = services.catalog.byModel(input.model);
  if (!entry) return { credits: 0, usd: 0, estimated_seconds: 0, would_succeed: false, reasons_blocked: ["unknown_model"], ...common };

  // As at submit: a start image for a model that takes none is refused (400), never ignored.
  if (input.image_url !== undefined && (entry.kind !== "video" || !entry.acceptsImageUrl)) {
    throw unsupported("body.image_url", entry, entry.kind === "video" ? "it takes no start image" : "it is not a video model (image_url is a video model's start image)");
  }
  // 400 duration_too_long, or unsupported_parameter for a duration outside the entry's durations_s, propagates.
  const price = priceFor(entry, pricingRequest(entry, input));
  const reasons: BlockReason[] = [];
  if (available < price) reasons.push("insufficient_credits");
  if (services.providers.unavailableReason(entry.provider)) reasons.push("provider_not_configured");
  if (services.providers.isCircuitOpen(entry.provider)) reasons.push("circuit_open");
  try {
    assertPromptAllowed(services.config, [input.prompt]);
  } catch (err) {
    if (!isApiError(err) || err.code !== "prompt_blocked") throw err;
    reasons.push("prompt_blocked");
  }
  if (cap && cap.spentMicros + price > cap.capMicros) reasons.push("spend_cap_exceeded");
  if (entry.kind === "video" && entry.requiresImageUrl && input.image_url === undefined) reasons.push("image_url_required");

  const estimated = (await p95Seconds(services, entry.model)) ?? entry.typicalLatencyS ?? DEFAULT_ESTIMATED_SECONDS;
  const kind = (["image", "video", "audio", "compose"] as const).find((k) => k === entry.kind);
  return {
    credits: microsToCredits(price),
    usd: microsToUsd(price),
    estimated_seconds: estimated,
    ...(kind ? { kind } : {}),
    would_succeed: reasons.length === 0,
    reasons_blocked: reasons,
    ...common,
  };
}
