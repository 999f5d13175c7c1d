// Finished jobs with helpers to fetch their outputs. Output URLs are signed
// (`/v1/assets/{id}/content?expires=…&signature=…`), so no credential is ever sent with a download;
// an expired signature is renewed once through `GET /v1/assets/{id}`.
import type { Aeriox } from "./client.ts";
import { PermissionDeniedError } from "./errors.ts";
import type { Job } from "./generated/types.gen.ts";
import type { RequestOptions } from "./transport.ts";

export type JobResult = Job & {
  /** The first output URL, if any. */
  readonly url: string | undefined;
  readonly urls: string[];
  blob(index?: number, opts?: RequestOptions): Promise<Blob>;
  arrayBuffer(index?: number, opts?: RequestOptions): Promise<ArrayBuffer>;
  /** Node/Bun/Deno only: writes output `index` to `path` and returns the path. */
  save(path: string, index?: number, opts?: RequestOptions): Promise<string>;
};

const ASSET_CONTENT = /\/v1\/assets\/([^/]+)\/content$/;

export async function download(client: Aeriox, url: string, opts: RequestOptions = {}): Promise<Response> {
  const target = new URL(url, client.baseUrl);
  try {
    return await client.transport.send(new Request(target, { headers: opts.headers }), opts);
  } catch (err) {
    const assetId = target.origin === new URL(client.baseUrl).origin && ASSET_CONTENT.exec(target.pathname)?.[1];
    const expired = err instanceof PermissionDeniedError && (err.code === "url_expired" || err.code === "invalid_signature");
    if (!assetId || !expired) throw err;
    return client.assets.download(decodeURIComponent(assetId), opts);
  }
}

export function withOutputs(client: Aeriox, job: Job): JobResult {
  const urls = job.output_urls ?? [];
  const pick = (i: number) => {
    const u = urls[i];
    if (!u) throw new RangeError(`Job ${job.job_id} has no output #${i} (it has ${urls.length})`);
    return u;
  };
  const arrayBuffer = async (i = 0, opts?: RequestOptions) => (await download(client, pick(i), opts)).arrayBuffer();
  return {
    ...job,
    url: urls[0],
    urls,
    blob: async (i = 0, opts) => (await download(client, pick(i), opts)).blob(),
    arrayBuffer,
    async save(path, i = 0, opts) {
      const bytes = new Uint8Array(await arrayBuffer(i, opts));
      // Loaded lazily through a variable so browser bundlers never try to resolve a Node built-in.
      const fsName = "node:fs/promises";
      const fs = (await import(/* @vite-ignore */ /* webpackIgnore: true */ fsName)) as typeof import("node:fs/promises");
      await fs.writeFile(path, bytes);
      return path;
    },
  };
}
