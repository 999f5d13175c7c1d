// List calls return a PagePromise: `await` it for the first page, or `for await` it for every item
// across pages (the OpenAI SDK's shape). Page-following rules live with each resource.

export class PagePromise<Page, Item, Params> implements PromiseLike<Page>, AsyncIterable<Item> {
  #first: Promise<Page> | undefined;

  constructor(
    private readonly fetchPage: (params: Params) => Promise<Page>,
    private readonly params: Params,
    private readonly itemsOf: (page: Page) => Item[],
    /** Parameters for the following page, or undefined when `page` was the last one. */
    private readonly nextParams: (page: Page, params: Params) => Params | undefined,
  ) {}

  private first(): Promise<Page> {
    return (this.#first ??= this.fetchPage(this.params));
  }

  then<A = Page, B = never>(
    onfulfilled?: ((value: Page) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    return this.first().then(onfulfilled, onrejected);
  }

  /** Every page in order, fetched lazily. */
  async *pages(): AsyncGenerator<Page> {
    let params: Params | undefined = this.params;
    let page = await this.first();
    for (;;) {
      yield page;
      params = this.nextParams(page, params);
      if (!params) return;
      page = await this.fetchPage(params);
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Item> {
    for await (const page of this.pages()) yield* this.itemsOf(page);
  }

  /** Collects every item; mind the size of the collection. */
  async toArray(): Promise<Item[]> {
    const all: Item[] = [];
    for await (const item of this) all.push(item);
    return all;
  }
}

/** Cursor pagination: follow `next_cursor` until it is null or missing. */
export function nextByCursor<P extends { cursor?: string }>(page: { next_cursor?: string | null }, params: P): P | undefined {
  return page.next_cursor ? { ...params, cursor: page.next_cursor } : undefined;
}

/** Offset pagination: a short (or empty) page is the last one; a known `total` also ends it. */
export function nextByOffset<P extends { limit?: number; offset?: number }>(
  items: unknown[],
  params: P,
  defaultLimit: number,
  total?: number,
): P | undefined {
  const limit = params.limit ?? defaultLimit;
  const offset = (params.offset ?? 0) + items.length;
  if (items.length === 0 || items.length < limit) return undefined;
  if (total !== undefined && offset >= total) return undefined;
  return { ...params, offset };
}
