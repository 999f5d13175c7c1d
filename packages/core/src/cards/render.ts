/**
 * A card's "back side": the uniform `RenderedInputs` the canvas executor feeds to a
 * downstream generation node, produced by one renderer per card type. Pure and
 * deterministic (same card → same JSON, attribute keys sorted).
 *
 * ```ts
 * interface RenderedInputs {
 *   kind: CardType;                        // the card's type
 *   prompt_fragment: string;               // text to splice into the prompt ("" for voices)
 *   negative_prompt_fragment: string|null; // attributes.negative_prompt, when the type uses it
 *   reference_image_urls: string[];        // preview_url + attributes.reference_image_urls (deduplicated, in order)
 *   lora: { path: string; scale: number } | null; // attributes.lora {path, scale} or lora_path/lora_scale (scale default 1, clamped 0..2)
 *   voice_id: string | null;               // voice cards: attributes.voice_id
 *   attributes: Record<string, unknown>;   // the card's attributes, keys sorted
 * }
 * ```
 * Per type: character → "<trigger_word>, <name>, <description>, <appearance>";
 * style → "in the style of <name>, <description>" (+ lora, negative prompt);
 * location → "set in <name>, <description>"; prop → "featuring <name>, <description>";
 * motion → "<camera_motion|name> motion, <description>"; scene → "<name>, <description>";
 * prompt → attributes.prompt, else description, else name (+ negative prompt);
 * voice → "" with voice_id; asset → "<name>" with its preview as a reference image.
 */
import type { Card } from "../db/index.ts";
import type { CardType } from "./types.ts";

export interface RenderedInputs {
  kind: CardType;
  prompt_fragment: string;
  negative_prompt_fragment: string | null;
  reference_image_urls: string[];
  lora: { path: string; scale: number } | null;
  voice_id: string | null;
  attributes: Record<string, unknown>;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}

function str(attrs: Record<string, unknown>, key: string): string | null {
  const v = attrs[key];
  return typeof v === "string" && v.trim().length > 0 ? v.trim() : null;
}

function join(...parts: Array<string | null | undefined>): string {
  return parts.filter((p): p is string => typeof p === "string" && p.trim().length > 0).map((p) => p.trim()).join(", ");
}

function loraOf(attrs: Record<string, unknown>): RenderedInputs["lora"] {
  const nested = attrs.lora && typeof attrs.lora === "object" ? (attrs.lora as Record<string, unknown>) : {};
  const path = typeof nested.path === "string" ? nested.path : str(attrs, "lora_path");
  if (!path) return null;
  const rawScale = typeof nested.scale === "number" ? nested.scale : typeof attrs.lora_scale === "number" ? attrs.lora_scale : 1;
  return { path, scale: Math.min(2, Math.max(0, Number.isFinite(rawScale) ? rawScale : 1)) };
}

function referenceImages(card: Card, attrs: Record<string, unknown>): string[] {
  const urls: string[] = [];
  if (card.previewUrl) urls.push(card.previewUrl);
  const extra = attrs.reference_image_urls;
  if (Array.isArray(extra)) for (const u of extra) if (typeof u === "string" && u.length > 0) urls.push(u);
  return [...new Set(urls)];
}

export function renderCard(card: Card): RenderedInputs {
  const attrs = (card.attributes && typeof card.attributes === "object" && !Array.isArray(card.attributes) ? card.attributes : {}) as Record<string, unknown>;
  const kind = card.cardType as CardType;
  const base: RenderedInputs = {
    kind,
    prompt_fragment: "",
    negative_prompt_fragment: null,
    reference_image_urls: referenceImages(card, attrs),
    lora: null,
    voice_id: null,
    attributes: sortKeys(attrs) as Record<string, unknown>,
  };
  const description = card.description;
  switch (kind) {
    case "character":
      return { ...base, prompt_fragment: join(str(attrs, "trigger_word"), card.name, description, str(attrs, "appearance")), lora: loraOf(attrs), negative_prompt_fragment: str(attrs, "negative_prompt") };
    case "style":
      return { ...base, prompt_fragment: join(`in the style of ${card.name}`, description), lora: loraOf(attrs), negative_prompt_fragment: str(attrs, "negative_prompt") };
    case "location":
      return { ...base, prompt_fragment: join(`set in ${card.name}`, description) };
    case "prop":
      return { ...base, prompt_fragment: join(`featuring ${card.name}`, description) };
    case "motion":
      return { ...base, prompt_fragment: join(`${str(attrs, "camera_motion") ?? card.name} motion`, description), reference_image_urls: [] };
    case "scene":
      return { ...base, prompt_fragment: join(card.name, description), negative_prompt_fragment: str(attrs, "negative_prompt") };
    case "prompt":
      return { ...base, prompt_fragment: str(attrs, "prompt") ?? (join(description) || card.name), negative_prompt_fragment: str(attrs, "negative_prompt") };
    case "voice":
      return { ...base, prompt_fragment: "", voice_id: str(attrs, "voice_id"), reference_image_urls: [] };
    case "asset":
      return { ...base, prompt_fragment: join(card.name) };
    default:
      return { ...base, prompt_fragment: join(card.name, description) };
  }
}
