/**
 * Cards tag: the workspace card library (`/v1/cards`) and its deprecated
 * `/v1/nodes` aliases (dual-emitted `nodes`/`cards` and `node`/`card` bodies).
 */
import { createCard, getCardWithEdges, findWorkspaceCard, listCards, softDeleteCard, searchCards, renderCardGraph, toCardBody, toEdgeBody, toNodeBody } from "@aeriox/core/cards";
import { defineHandlers, principalOf } from "../http/handler.ts";

export const cardHandlers = defineHandlers({
  listCards: async (ctx) => {
    const page = await listCards(ctx.services, principalOf(ctx).workspaceId, ctx.query);
    return { status: 200, body: { data: page.cards.map(toCardBody), count: page.count, limit: page.limit, offset: page.offset } };
  },

  listNodes: async (ctx) => {
    const page = await listCards(ctx.services, principalOf(ctx).workspaceId, ctx.query);
    const nodes = page.cards.map(toNodeBody);
    return { status: 200, body: { nodes, cards: nodes, count: page.count, limit: page.limit, offset: page.offset } };
  },

  createCard: async (ctx) => {
    const card = await createCard(ctx.services, principalOf(ctx).workspaceId, ctx.body);
    return { status: 201, body: { card: toCardBody(card) } };
  },

  createNode: async (ctx) => {
    const card = await createCard(ctx.services, principalOf(ctx).workspaceId, ctx.body);
    const node = toNodeBody(card);
    return { status: 201, body: { card: node, node } };
  },

  getCard: async (ctx) => {
    const { card, edges } = await getCardWithEdges(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: { card: toCardBody(card), edges: edges.map((e) => toEdgeBody(e)) } };
  },

  getNode: async (ctx) => {
    const { card, edges } = await getCardWithEdges(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: { node: toNodeBody(card), edges: edges.map((e) => toEdgeBody(e, true)) } };
  },

  deleteCard: async (ctx) => {
    await softDeleteCard(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: { ok: true, soft_deleted: true } };
  },

  deleteNode: async (ctx) => {
    await softDeleteCard(ctx.services, principalOf(ctx).workspaceId, ctx.params.id);
    return { status: 200, body: { ok: true, soft_deleted: true } };
  },

  searchCards: async (ctx) => {
    const result = await searchCards(ctx.services, principalOf(ctx).workspaceId, ctx.query);
    // Which mode answered (semantic: an embedding model; lexical: full-text + trigram), also in the body.
    return { status: 200, body: result, headers: { "x-search-mode": result.mode } };
  },

  renderCard: async (ctx) => {
    const workspaceId = principalOf(ctx).workspaceId;
    const card = await findWorkspaceCard(ctx.services, workspaceId, ctx.params.id);
    return { status: 200, body: { card: toCardBody(card), rendered: { ...(await renderCardGraph(ctx.services, workspaceId, card)) } } };
  },
});
