// Cards (the workspace's creative library). Canonical `/v1/cards` routes; `nodes` is the legacy
// alias kept for old integrations until its sunset.
import * as api from "../generated/sdk.gen.ts";
import type {
  Card, CreateCardData, CreateCardResponse, CreateNodeData, CreateNodeResponse, DeleteCardResponse,
  DeleteNodeResponse, GetCardResponse, GetNodeResponse, ListCardsData, ListCardsResponse, ListNodesData,
  ListNodesResponse, RenderCardResponse, SearchCardsData, SearchCardsResponse,
} from "../generated/types.gen.ts";
import { nextByOffset, PagePromise } from "../pagination.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

type CardQuery = NonNullable<ListCardsData["query"]>;
type NodeQuery = NonNullable<ListNodesData["query"]>;
type NodeItem = ListNodesResponse["cards"][number];

export class Cards extends APIResource {
  /** `GET /v1/cards/search`: semantic search (503 when the deployment has no embedding key). */
  search(query: SearchCardsData["query"], opts?: RequestOptions): Promise<SearchCardsResponse> {
    return this.client.request(api.searchCards, { query }, opts);
  }

  /** `GET /v1/cards/{id}/render`: the card's structured back-side payload. */
  render(id: string, opts?: RequestOptions): Promise<RenderCardResponse> {
    return this.client.request(api.renderCard, { path: { id } }, opts);
  }

  /** `GET /v1/cards`: `await` for one page, `for await` for every card (offset pagination). */
  list(query: CardQuery = {}, opts?: RequestOptions): PagePromise<ListCardsResponse, Card, CardQuery> {
    return new PagePromise(
      (q) => this.client.request(api.listCards, { query: q }, opts),
      query,
      (page) => page.data,
      (page, q) => nextByOffset(page.data, q, 50),
    );
  }

  /** `POST /v1/cards` */
  create(body: CreateCardData["body"], opts?: RequestOptions): Promise<CreateCardResponse> {
    return this.client.request(api.createCard, { body }, opts);
  }

  /** `GET /v1/cards/{id}`: the card and its outgoing edges. */
  get(id: string, opts?: RequestOptions): Promise<GetCardResponse> {
    return this.client.request(api.getCard, { path: { id } }, opts);
  }

  /** `DELETE /v1/cards/{id}` (soft delete). */
  delete(id: string, opts?: RequestOptions): Promise<DeleteCardResponse> {
    return this.client.request(api.deleteCard, { path: { id } }, opts);
  }
}

/** @deprecated `/v1/nodes` alias of `/v1/cards` (sunsets 2026-10-22). */
export class Nodes extends APIResource {
  /** @deprecated `GET /v1/nodes` (offset-paginated; `for await` walks every page). */
  list(query: NodeQuery = {}, opts?: RequestOptions): PagePromise<ListNodesResponse, NodeItem, NodeQuery> {
    return new PagePromise(
      (q) => this.client.request(api.listNodes, { query: q }, opts),
      query,
      (page) => page.cards,
      (page, q) => nextByOffset(page.cards, q, 50),
    );
  }

  /** @deprecated `POST /v1/nodes` */
  create(body: CreateNodeData["body"], opts?: RequestOptions): Promise<CreateNodeResponse> {
    return this.client.request(api.createNode, { body }, opts);
  }

  /** @deprecated `GET /v1/nodes/{id}` */
  get(id: string, opts?: RequestOptions): Promise<GetNodeResponse> {
    return this.client.request(api.getNode, { path: { id } }, opts);
  }

  /** @deprecated `DELETE /v1/nodes/{id}` */
  delete(id: string, opts?: RequestOptions): Promise<DeleteNodeResponse> {
    return this.client.request(api.deleteNode, { path: { id } }, opts);
  }
}
