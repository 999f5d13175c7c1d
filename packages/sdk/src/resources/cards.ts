// Cards (the workspace's creative library). Canonical `/v1/cards` routes; `nodes` is the legacy
// alias kept for old integrations until its sunset.
import * as api from "../generated/sdk.gen.ts";
import type {
  CreateNodeData, CreateNodeResponse, DeleteNodeResponse, GetNodeResponse, ListNodesData,
  ListNodesResponse, RenderCardResponse, SearchCardsData, SearchCardsResponse,
} from "../generated/types.gen.ts";
import { nextByOffset, PagePromise } from "../pagination.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

type NodeQuery = NonNullable<ListNodesData["query"]>;
type CardItem = ListNodesResponse["cards"][number];

export class Cards extends APIResource {
  /** `GET /v1/cards/search`: semantic search (503 when the deployment has no embedding key). */
  search(query: SearchCardsData["query"], opts?: RequestOptions): Promise<SearchCardsResponse> {
    return this.client.request(api.searchCards, { query }, opts);
  }

  /** `GET /v1/cards/{id}/render`: the card's structured back-side payload. */
  render(id: string, opts?: RequestOptions): Promise<RenderCardResponse> {
    return this.client.request(api.renderCard, { path: { id } }, opts);
  }

  list(query: NodeQuery = {}, opts?: RequestOptions): PagePromise<ListNodesResponse, CardItem, NodeQuery> {
    return this.client.nodes.list(query, opts);
  }

  create(body: CreateNodeData["body"], opts?: RequestOptions): Promise<CreateNodeResponse> {
    return this.client.nodes.create(body, opts);
  }

  get(id: string, opts?: RequestOptions): Promise<GetNodeResponse> {
    return this.client.nodes.get(id, opts);
  }

  delete(id: string, opts?: RequestOptions): Promise<DeleteNodeResponse> {
    return this.client.nodes.delete(id, opts);
  }
}

/** @deprecated `/v1/nodes` alias of `/v1/cards` (sunsets 2026-10-22). */
export class Nodes extends APIResource {
  /** @deprecated `GET /v1/nodes` (offset-paginated; `for await` walks every page). */
  list(query: NodeQuery = {}, opts?: RequestOptions): PagePromise<ListNodesResponse, CardItem, NodeQuery> {
    return new PagePromise(
      (q) => this.client.request<ListNodesResponse>(api.listNodes, { query: q }, opts),
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
