/**
 * Card CRUD. Every read and write is scoped to the caller's workspace: another
 * workspace's card (or a soft-deleted one) is indistinguishable from a missing one —
 * 404 `not_found` "Card not found" on `{id}` paths, and the same 400 as a missing id
 * when referenced as an edge target or parent. Global cards (globals.ts) are visible to
 * every workspace — read, listed, edge targets and parents — and read-only: deleting one
 * is 403 `global_card_read_only`.
 */
import type { Runtime } from "../runtime.ts";
import type { Card, CardEdge, Prisma } from "../db/index.ts";
import { ApiError } from "../errors.ts";
import { invalid, parseCardType, type CardType, type FieldIssue } from "./types.ts";
import { cardEmbedderOf } from "./embedding.ts";
import { backfillOf, embedCards } from "./embedding-queue.ts";

type CardServices = Pick<Runtime, "db" | "logger" | "config">;

/** Cards a workspace sees: its own and the global ones (Prisma filter). */
export function visibleTo(workspaceId: string): Prisma.CardWhereInput {
  return { OR: [{ workspaceId }, { workspaceId: null }], deletedAt: null };
}

export interface EdgeInput {
  to_card_id?: string;
  to_node_id?: string;
  edge_type: string;
  attributes?: Record<string, unknown>;
}

export interface CreateCardInput {
  card_type?: string;
  node_type?: string;
  name: string;
  description?: string;
  attributes?: Record<string, unknown>;
  preview_url?: string;
  thumb_url?: string;
  parent_id?: string | null;
  visibility_scopes?: string[];
  edges?: EdgeInput[];
}

const MAX_NAME = 200;
const MAX_DESCRIPTION = 10_000;
const MAX_EDGES = 100;
const MAX_SCOPES = 32;
const MAX_EDGE_TYPE = 64;

function validateCreate(input: CreateCardInput): { cardType: CardType; edges: Array<{ toCardId: string; edgeType: string; attributes: Record<string, unknown> }>; scopes: string[] } {
  const issues: FieldIssue[] = [];
  if (input.card_type !== undefined && input.node_type !== undefined && input.card_type !== input.node_type) {
    issues.push({ field: "body.node_type", message: "must equal body.card_type when both are given" });
  }
  const rawType = input.card_type ?? input.node_type;
  if (rawType === undefined) issues.push({ field: "body.card_type", message: "is required (or the legacy body.node_type)" });
  if (input.name.trim().length === 0) issues.push({ field: "body.name", message: "must not be blank" });
  else if (input.name.length > MAX_NAME) issues.push({ field: "body.name", message: `must be at most ${MAX_NAME} characters` });
  if (input.description !== undefined && input.description.length > MAX_DESCRIPTION) {
    issues.push({ field: "body.description", message: `must be at most ${MAX_DESCRIPTION} characters` });
  }
  const scopes = [...new Set(input.visibility_scopes ?? [])];
  if (scopes.length > MAX_SCOPES) issues.push({ field: "body.visibility_scopes", message: `must have at most ${MAX_SCOPES} entries` });
  scopes.forEach((s, i) => {
    if (s.trim().length === 0 || s.length > 64) issues.push({ field: `body.visibility_scopes[${i}]`, message: "must be 1 to 64 characters" });
  });
  const edges: Array<{ toCardId: string; edgeType: string; attributes: Record<string, unknown> }> = [];
  const rawEdges = input.edges ?? [];
  if (rawEdges.length > MAX_EDGES) issues.push({ field: "body.edges", message: `must have at most ${MAX_EDGES} entries` });
  rawEdges.forEach((edge, i) => {
    const to = edge.to_card_id ?? edge.to_node_id;
    if (edge.to_card_id !== undefined && edge.to_node_id !== undefined && edge.to_card_id !== edge.to_node_id) {
      issues.push({ field: `body.edges[${i}].to_node_id`, message: "must equal to_card_id when both are given" });
    } else if (to === undefined) {
      issues.push({ field: `body.edges[${i}].to_card_id`, message: "is required (or the legacy to_node_id)" });
    }
    if (edge.edge_type.trim().length === 0 || edge.edge_type.length > MAX_EDGE_TYPE) {
      issues.push({ field: `body.edges[${i}].edge_type`, message: `must be 1 to ${MAX_EDGE_TYPE} characters` });
    }
    if (to !== undefined) edges.push({ toCardId: to, edgeType: edge.edge_type, attributes: edge.attributes ?? {} });
  });
  if (issues.length) throw invalid(issues);
  // Type last: an unknown type has its own code.
  return { cardType: parseCardType(rawType!, input.card_type !== undefined ? "body.card_type" : "body.node_type"), edges, scopes };
}

/**
 * Creates a card and its outgoing edges in one transaction; edge targets and the parent must be
 * live cards the workspace sees (its own or global). Then its vector is computed (write time,
 * when a model is configured): a failure leaves the card stored and pending, and the background
 * backfill retries it (embedding-queue.ts).
 */
export async function createCard(services: CardServices, workspaceId: string, input: CreateCardInput): Promise<Card> {
  const { cardType, edges, scopes } = validateCreate(input);
  const attributes = input.attributes ?? {};
  const description = input.description ?? null;

  const created = await services.db.prisma.$transaction(async (tx) => {
    const referenced = [...new Set([...edges.map((e) => e.toCardId), ...(input.parent_id ? [input.parent_id] : [])])];
    const live = referenced.length
      ? new Set((await tx.card.findMany({ where: { id: { in: referenced }, ...visibleTo(workspaceId) }, select: { id: true } })).map((c) => c.id))
      : new Set<string>();
    const issues: FieldIssue[] = [];
    if (input.parent_id && !live.has(input.parent_id)) issues.push({ field: "body.parent_id", message: "is not a card of this workspace" });
    (input.edges ?? []).forEach((edge, i) => {
      const to = edge.to_card_id ?? edge.to_node_id;
      if (to !== undefined && !live.has(to)) issues.push({ field: `body.edges[${i}].${edge.to_card_id !== undefined ? "to_card_id" : "to_node_id"}`, message: `edge ${i}: target is not a card of this workspace` });
    });
    if (issues.some((i) => i.field === "body.parent_id")) {
      throw ApiError.badRequest("invalid_parent", "parent_id is not a card of this workspace", { fields: issues });
    }
    if (issues.length) {
      throw ApiError.badRequest("invalid_edge_target", `Edge target not found: ${issues.map((i) => i.field).join(", ")}`, { fields: issues });
    }
    const card = await tx.card.create({
      data: {
        workspaceId,
        cardType,
        name: input.name,
        description,
        attributes: attributes as Prisma.InputJsonValue,
        previewUrl: input.preview_url ?? null,
        thumbUrl: input.thumb_url ?? null,
        parentId: input.parent_id ?? null,
        visibilityScopes: scopes,
      },
    });
    if (edges.length) {
      // Edges are read back in (created_at, id) order: 1 ms apart, ending now, keeps the request's order.
      const now = card.createdAt.getTime();
      await tx.cardEdge.createMany({
        data: edges.map((e, i) => ({
          fromCardId: card.id,
          toCardId: e.toCardId,
          edgeType: e.edgeType,
          attributes: e.attributes as Prisma.InputJsonValue,
          createdAt: new Date(now - (edges.length - 1 - i)),
        })),
      });
    }
    return card;
  });

  const embedder = cardEmbedderOf(services);
  if (embedder && (await embedCards(services, embedder, [{ id: created.id, name: created.name, description: created.description, attributes: created.attributes }])) === 0) {
    backfillOf(services)?.kick();
  }
  return created;
}

/** A live card the workspace sees (its own or a global one), or 404 (also for another workspace's or a deleted card). */
export async function findWorkspaceCard(services: Pick<Runtime, "db">, workspaceId: string, id: string): Promise<Card> {
  const card = await services.db.prisma.card.findFirst({ where: { id, ...visibleTo(workspaceId) } });
  if (!card) throw ApiError.notFound("Card");
  return card;
}

/** The card and its outgoing edges to live cards, oldest edge first. */
export async function getCardWithEdges(services: Pick<Runtime, "db">, workspaceId: string, id: string): Promise<{ card: Card; edges: CardEdge[] }> {
  const card = await findWorkspaceCard(services, workspaceId, id);
  const edges = await services.db.prisma.cardEdge.findMany({
    where: { fromCardId: card.id, to: visibleTo(workspaceId) },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  return { card, edges };
}

export interface ListCardsQuery {
  type?: string;
  scope?: string;
  globals_only?: "1";
  parent_id?: string;
  limit?: number;
  offset?: number;
}

export const LIST_DEFAULT_LIMIT = 50;

export async function listCards(services: Pick<Runtime, "db">, workspaceId: string, query: ListCardsQuery): Promise<{ cards: Card[]; count: number; limit: number; offset: number }> {
  const limit = query.limit ?? LIST_DEFAULT_LIMIT;
  const offset = query.offset ?? 0;
  // The workspace's cards plus the global ones; `globals_only=1`: the global ones alone.
  const and: Prisma.CardWhereInput[] = [query.globals_only === "1" ? { workspaceId: null, deletedAt: null } : visibleTo(workspaceId)];
  if (query.type !== undefined) and.push({ cardType: parseCardType(query.type, "query.type") });
  if (query.scope !== undefined) and.push({ visibilityScopes: { has: query.scope } });
  if (query.parent_id !== undefined) and.push({ parentId: query.parent_id });
  const where: Prisma.CardWhereInput = { AND: and };
  const [cards, count] = await Promise.all([
    services.db.prisma.card.findMany({ where, orderBy: [{ createdAt: "desc" }, { id: "asc" }], take: limit, skip: offset }),
    services.db.prisma.card.count({ where }),
  ]);
  return { cards, count, limit, offset };
}

/** Soft delete: exactly one caller wins; a second delete (or a foreign id) is 404; a global card is 403 (it is visible, but read-only). */
export async function softDeleteCard(services: Pick<Runtime, "db">, workspaceId: string, id: string): Promise<void> {
  const { count } = await services.db.prisma.card.updateMany({ where: { id, workspaceId, deletedAt: null }, data: { deletedAt: new Date() } });
  if (count > 0) return;
  if (await services.db.prisma.card.count({ where: { id, workspaceId: null, deletedAt: null } })) {
    throw ApiError.forbidden("global_card_read_only", "Global cards are read-only: they come from the deployment's catalog");
  }
  throw ApiError.notFound("Card");
}
