import * as api from "../generated/sdk.gen.ts";
import type {
  Character, CreateCharacterData, CreateCharacterResponse, DeleteCharacterResponse,
  GetCharacterResponse, ListCharactersData, ListCharactersResponse,
} from "../generated/types.gen.ts";
import { nextByCursor, PagePromise } from "../pagination.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

type ListQuery = NonNullable<ListCharactersData["query"]>;

export class Characters extends APIResource {
  /** `POST /v1/characters`: creates a character and queues its training job. */
  create(body: CreateCharacterData["body"], opts?: RequestOptions): Promise<CreateCharacterResponse> {
    return this.client.request(api.createCharacter, { body }, opts);
  }

  /** `GET /v1/characters`: `await` for one page, `for await` for every character (follows `next_cursor`). */
  list(query: ListQuery = {}, opts?: RequestOptions): PagePromise<ListCharactersResponse, Character, ListQuery> {
    return new PagePromise(
      (q) => this.client.request(api.listCharacters, { query: q }, opts),
      query,
      (page) => page.data,
      nextByCursor,
    );
  }

  /** `GET /v1/characters/{id}` */
  get(id: string, opts?: RequestOptions): Promise<GetCharacterResponse> {
    return this.client.request(api.getCharacter, { path: { id } }, opts);
  }

  /** `DELETE /v1/characters/{id}` (admin scope). */
  delete(id: string, opts?: RequestOptions): Promise<DeleteCharacterResponse> {
    return this.client.request(api.deleteCharacter, { path: { id } }, opts);
  }
}
