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
import { isUuid } from "../ids.ts";
import type { Card, Character } from "../db/index.ts";
import type { Runtime } from "../runtime.ts";
import type { CardType } from "./types.ts";
import { visibleTo } from "./cards.ts";

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

/**
 * A character card's `attributes.character_id` names a character of the workspace
 * (`/v1/characters`); once it is ready its trained LoRA (`lora_url`) and its voice are the
 * card's, ahead of any `lora`/`voice_id` written into the card's attributes.
 */
export function renderCard(card: Card, character?: Pick<Character, "loraUrl" | "voiceId" | "status"> | null): RenderedInputs {
  const own = renderOwn(card);
  if (!character || own.kind !== "character") return own;
  const attrs = own.attributes;
  const scale = typeof attrs.lora_scale === "number" && Number.isFinite(attrs.lora_scale) ? Math.min(2, Math.max(0, attrs.lora_scale)) : (own.lora?.scale ?? 1);
  return {
    ...own,
    lora: character.loraUrl ? { path: character.loraUrl, scale } : own.lora,
    voice_id: character.voiceId ?? own.voice_id,
  };
}

function renderOwn(card: Card): RenderedInputs {
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

// ───────────────────────── following edges ─────────────────────────

/** How far from the rendered card edges are followed, and how many cards a render may gather. */
export const RENDER_MAX_DEPTH = 4;
export const RENDER_MAX_CARDS = 64;

export interface LinkedCard {
  card_id: string;
  card_type: string;
  name: string;
  /** The edge that reached it first (breadth first: the shortest path). */
  edge_type: string;
  from_card_id: string;
  depth: number;
  global: boolean;
  /** For character cards: the referenced character (`attributes.character_id`) and its status, or null. */
  character: { id: string; status: string } | null;
  rendered: RenderedInputs;
}

export interface RenderedGraph extends RenderedInputs {
  /** The card's own payload, before anything linked was merged in. */
  own: RenderedInputs;
  /** Every card reachable over outgoing edges, breadth first, each once. */
  linked: LinkedCard[];
  /** Every LoRA of the card and the cards it reaches, nearest first (`lora` is the first). */
  loras: Array<{ card_id: string; path: string; scale: number }>;
  graph: {
    max_depth: number;
    max_cards: number;
    /** Edges left unfollowed because their target was already reached (cycles, diamonds). */
    revisits_skipped: number;
    /** Some cards lie beyond `max_depth` or `max_cards` and are not included. */
    truncated: boolean;
  };
}

function characterIdOf(card: Card): string | null {
  const attrs = card.attributes && typeof card.attributes === "object" && !Array.isArray(card.attributes) ? (card.attributes as Record<string, unknown>) : {};
  const id = attrs.character_id;
  return card.cardType === "character" && isUuid(id) ? id : null;
}

/**
 * Renders a card with what it reaches: its outgoing edges to live cards the workspace sees,
 * followed breadth first to RENDER_MAX_DEPTH, each card once (a cycle ends where it meets a
 * card already reached), at most RENDER_MAX_CARDS cards. The merged payload:
 * - `prompt_fragment`: the card's own, then each linked card's, in that order (empties and
 *   repeats dropped); `negative_prompt_fragment` likewise;
 * - `reference_image_urls`: the union, in order (motion and voice cards add none);
 * - `lora` and `voice_id`: the card's own, else the nearest linked card's (a character's come
 *   from its referenced character); `loras` lists them all;
 * - `kind` and `attributes` stay the card's own; `own` is the payload without the links.
 */
export async function renderCardGraph(services: Pick<Runtime, "db">, workspaceId: string, root: Card): Promise<RenderedGraph> {
  const prisma = services.db.prisma;
  const visited = new Set<string>([root.id]);
  const reached: Array<{ card: Card; edgeType: string; from: string; depth: number }> = [];
  let frontier = [root.id];
  let revisits = 0;
  let truncated = false;
  for (let depth = 1; frontier.length > 0; depth++) {
    const edges = await prisma.cardEdge.findMany({
      where: { fromCardId: { in: frontier }, to: visibleTo(workspaceId) },
      include: { to: true },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    });
    if (depth > RENDER_MAX_DEPTH) {
      if (edges.some((e) => !visited.has(e.toCardId))) truncated = true;
      break;
    }
    // Keep the frontier's order (parents in the order they were reached), edges oldest first.
    const order = new Map(frontier.map((id, i) => [id, i]));
    edges.sort((a, b) => order.get(a.fromCardId)! - order.get(b.fromCardId)!);
    const next: string[] = [];
    for (const edge of edges) {
      if (visited.has(edge.toCardId)) {
        revisits++;
        continue;
      }
      if (reached.length >= RENDER_MAX_CARDS) {
        truncated = true;
        break;
      }
      visited.add(edge.toCardId);
      reached.push({ card: edge.to, edgeType: edge.edgeType, from: edge.fromCardId, depth });
      next.push(edge.toCardId);
    }
    frontier = next;
  }

  const characterIds = [...new Set([root, ...reached.map((r) => r.card)].map(characterIdOf).filter((id): id is string => id !== null))];
  // Characters belong to a workspace: a global card's reference resolves in the caller's workspace.
  const characters = new Map(
    characterIds.length ? (await prisma.character.findMany({ where: { id: { in: characterIds }, workspaceId, deletedAt: null } })).map((c) => [c.id, c]) : [],
  );
  const usable = (card: Card) => {
    const c = characters.get(characterIdOf(card) ?? "");
    return c && c.status === "ready" ? c : null;
  };
  const own = renderCard(root, usable(root));
  const linked: LinkedCard[] = reached.map(({ card, edgeType, from, depth }) => {
    const id = characterIdOf(card);
    const c = id ? characters.get(id) : undefined;
    return {
      card_id: card.id,
      card_type: card.cardType,
      name: card.name,
      edge_type: edgeType,
      from_card_id: from,
      depth,
      global: card.workspaceId === null,
      character: id ? { id, status: c ? c.status : "not_found" } : null,
      rendered: renderCard(card, usable(card)),
    };
  });

  const all = [{ card_id: root.id, rendered: own }, ...linked];
  const unique = (values: Array<string | null>) => [...new Set(values.filter((v): v is string => typeof v === "string" && v.trim().length > 0))];
  const loras = all.flatMap((l) => (l.rendered.lora ? [{ card_id: l.card_id, ...l.rendered.lora }] : []));
  const negative = unique(all.map((l) => l.rendered.negative_prompt_fragment));
  return {
    ...own,
    prompt_fragment: unique(all.map((l) => l.rendered.prompt_fragment)).join(", "),
    negative_prompt_fragment: negative.length ? negative.join(", ") : null,
    reference_image_urls: unique(all.flatMap((l) => l.rendered.reference_image_urls)),
    lora: loras[0] ? { path: loras[0].path, scale: loras[0].scale } : null,
    voice_id: all.map((l) => l.rendered.voice_id).find((v): v is string => typeof v === "string") ?? null,
    own,
    linked,
    loras,
    graph: { max_depth: RENDER_MAX_DEPTH, max_cards: RENDER_MAX_CARDS, revisits_skipped: revisits, truncated },
  };
}
