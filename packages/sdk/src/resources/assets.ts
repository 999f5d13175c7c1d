import * as api from "../generated/sdk.gen.ts";
import type { Asset, GetAssetResponse, ListAssetsData, ListAssetsResponse, UploadAssetResponse } from "../generated/types.gen.ts";
import { missingApiKey } from "../errors.ts";
import { nextByCursor, PagePromise } from "../pagination.ts";
import { APIResource } from "../resource.ts";
import type { RequestOptions } from "../transport.ts";

type ListQuery = NonNullable<ListAssetsData["query"]>;

/** The content types `POST /v1/assets` takes. */
export type UploadContentType = "image/png" | "image/jpeg" | "image/webp" | "video/mp4" | "audio/mpeg" | "audio/wav";

/** What `assets.upload` sends: bytes, a Blob/File, or a stream (a web ReadableStream, or any async iterable of bytes such as a Node.js Readable). */
export type UploadBody = Uint8Array | ArrayBuffer | Blob | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

export interface UploadOptions extends RequestOptions {
  /** Defaults to the Blob's `type` when a Blob with one is given. */
  contentType?: UploadContentType;
}

function isStream(body: UploadBody): body is ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> {
  return (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) || (typeof body === "object" && body !== null && Symbol.asyncIterator in body);
}

/** The spec types the upload body as a Blob: bytes become one (a view on shared memory is copied first). */
function toBlob(body: Uint8Array | ArrayBuffer | Blob): Blob {
  if (body instanceof Blob) return body;
  if (body instanceof ArrayBuffer) return new Blob([body]);
  return new Blob([onArrayBuffer(body) ? body : new Uint8Array(body)]);
}

const onArrayBuffer = (bytes: Uint8Array): bytes is Uint8Array<ArrayBuffer> => bytes.buffer instanceof ArrayBuffer;

function toReadableStream(body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  if (typeof ReadableStream !== "undefined" && body instanceof ReadableStream) return body;
  const iterator = (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) controller.close();
      else controller.enqueue(typeof value === "string" ? new TextEncoder().encode(value) : value);
    },
    async cancel(reason) {
      await iterator.return?.(reason);
    },
  });
}

export class Assets extends APIResource {
  /** `GET /v1/assets/{id}`: metadata plus a freshly signed download `url`. */
  get(id: string, opts?: RequestOptions): Promise<GetAssetResponse> {
    return this.client.request(api.getAsset, { path: { id } }, opts);
  }

  /**
   * `GET /v1/assets`: the workspace's assets (job outputs and uploads), newest first, filtered by
   * `kind`, `content_type` and `source`. `await` for one page, `for await` for every asset.
   */
  list(query: ListQuery = {}, opts?: RequestOptions): PagePromise<ListAssetsResponse, Asset, ListQuery> {
    return new PagePromise(
      (q) => this.client.request(api.listAssets, { query: q }, opts),
      query,
      (page) => page.data,
      nextByCursor,
    );
  }

  /**
   * `POST /v1/assets`: stores the bytes as an asset of the workspace (free) and returns it; its `id`
   * works as `asset_id` (compose, prisms), its `url` as `seed_image_url`. Bytes and Blobs are sent
   * with an Idempotency-Key and retried like any POST; a stream is sent as it is read, once.
   * The server checks the bytes against `contentType` (415 → UnsupportedMediaType as an AerioxError
   * with `code` `content_type_mismatch` or `unrecognized_content`) and its size limit (413).
   */
  async upload(body: UploadBody, opts: UploadOptions = {}): Promise<UploadAssetResponse> {
    const { contentType: given, ...requestOpts } = opts;
    const contentType = given ?? (typeof Blob !== "undefined" && body instanceof Blob && body.type ? (body.type as UploadContentType) : undefined);
    if (!contentType) throw new TypeError("assets.upload needs { contentType } (image/png, image/jpeg, image/webp, video/mp4, audio/mpeg or audio/wav)");
    if (!isStream(body)) {
      return this.client.request(api.uploadAsset, { body: toBlob(body), headers: { "Content-Type": contentType } }, requestOpts);
    }
    if (!this.client.apiKey) throw missingApiKey();
    const headers = new Headers(requestOpts.headers);
    headers.set("authorization", `Bearer ${this.client.apiKey}`);
    headers.set("content-type", contentType);
    if (typeof requestOpts.idempotencyKey === "string") headers.set("idempotency-key", requestOpts.idempotencyKey);
    const res = await this.client.transport.sendStreaming(`${this.client.baseUrl}/v1/assets`, { method: "POST", headers, body: toReadableStream(body) }, requestOpts);
    return (await res.json()) as UploadAssetResponse;
  }

  /**
   * The asset's bytes as a fetch Response (`.blob()`, `.arrayBuffer()`, `.body` stream): signs a fresh
   * URL with `assets.get`, then `GET /v1/assets/{id}/content` (authorized by the signature, no key sent).
   */
  async download(id: string, opts: RequestOptions = {}): Promise<Response> {
    const asset = await this.get(id, opts);
    return this.client.transport.send(new Request(new URL(asset.url, this.client.baseUrl)), opts);
  }
}
