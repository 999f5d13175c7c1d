/** Card and edge JSON as the API shows them (snake_case, ISO dates). */
import type { components } from "@aeriox/contract/api";
import type { Card, CardEdge } from "../db/index.ts";

/** A card as the API shows it (the spec's Card). */
export type CardBody = components["schemas"]["Card"];

export interface EdgeBody {
  id: string;
  from_card_id: string;
  to_card_id: string;
  edge_type: string;
  attributes: Record<string, unknown>;
  created_at: string;
  [extra: string]: unknown;
}

function objectOf(value: unknown): Record<string, unknown> {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function toCardBody(card: Card): CardBody {
  return {
    id: card.id,
    card_type: card.cardType,
    name: card.name,
    description: card.description,
    attributes: objectOf(card.attributes),
    preview_url: card.previewUrl,
    thumb_url: card.thumbUrl,
    parent_id: card.parentId,
    visibility_scopes: card.visibilityScopes,
    global: card.workspaceId === null,
    created_at: card.createdAt.toISOString(),
  };
}

/** Legacy `/v1/nodes` bodies also carry `node_type`. */
export function toNodeBody(card: Card): CardBody {
  return { ...toCardBody(card), node_type: card.cardType };
}

export function toEdgeBody(edge: CardEdge, legacy = false): EdgeBody {
  return {
    id: edge.id,
    from_card_id: edge.fromCardId,
    to_card_id: edge.toCardId,
    edge_type: edge.edgeType,
    attributes: objectOf(edge.attributes),
    created_at: edge.createdAt.toISOString(),
    ...(legacy ? { from_node_id: edge.fromCardId, to_node_id: edge.toCardId } : {}),
  };
}
