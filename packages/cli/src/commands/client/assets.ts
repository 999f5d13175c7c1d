/**
 * `aeriox assets get | download | upload | list`: stored outputs and uploads. `upload FILE` (POST
 * /v1/assets) streams the file, never read whole; its type comes from the extension unless `--type`
 * says. `list` (GET /v1/assets) takes filters as flags, `--all` follows the cursor.
 */
import { createReadStream, mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Option, type Command } from "@commander-js/extra-typings";
import type { UploadContentType } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { action, clientCall, clientCommand, keyValues, listPage, makeClient, moreHint, output, parseInteger, table } from "./common.ts";

export const UPLOAD_TYPES: Record<string, UploadContentType> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".mp4": "video/mp4",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
};
const CONTENT_TYPES = [...new Set(Object.values(UPLOAD_TYPES))];

export function registerAssets(program: Command): void {
  const assets = program.command("assets").description("Stored outputs: metadata and download");
  clientCall(
    assets.command("get").description("Asset metadata and a fresh signed URL (GET /v1/assets/{id})").argument("<id>", "asset id"),
    (client, id) => client.assets.get(id),
    (a) => keyValues(a),
  );
  clientCall(
    assets
      .command("download")
      .description("Download an asset's bytes (GET /v1/assets/{id}/content through a fresh signed URL)")
      .argument("<id>", "asset id")
      .requiredOption("-o, --out <file>", "where to write it (missing folders are created)"),
    async (client, id, flags) => {
      const res = await client.assets.download(id);
      const bytes = new Uint8Array(await res.arrayBuffer());
      mkdirSync(path.dirname(path.resolve(flags.out)), { recursive: true });
      writeFileSync(flags.out, bytes);
      return { id, file: flags.out, size_bytes: bytes.length, content_type: res.headers.get("content-type") };
    },
    (saved) => `saved ${saved.file} (${saved.size_bytes} bytes)`,
  );
  clientCommand(
    assets
      .command("upload")
      .description("Upload a file as an asset of the workspace (POST /v1/assets; free). Its id works as an asset_id (compose, prisms), its url as a seed image")
      .argument("<file>", "a PNG, JPEG, WebP, MP4, MP3 or WAV file")
      .addOption(new Option("-t, --type <content-type>", "content type (default: from the file's extension)").choices(CONTENT_TYPES)),
  ).action(
    action(async (file, flags) => {
      const contentType = flags.type ?? UPLOAD_TYPES[path.extname(file).toLowerCase()];
      if (!contentType) throw new UsageError(`cannot tell the type of ${file} from its extension: pass --type (${CONTENT_TYPES.join(", ")})`);
      let size: number;
      try {
        const st = statSync(file);
        if (!st.isFile()) throw new Error("not a file");
        size = st.size;
      } catch {
        throw new UsageError(`${file} is not a readable file`);
      }
      // Streamed as read (Content-Length unknown to fetch): a file past the server's limit is refused with 413 mid-way.
      const asset = await makeClient(flags).assets.upload(createReadStream(file), { contentType, timeout: Math.max(60_000, size / 100) });
      output(flags, asset, () => keyValues(asset, ["id", "content_type", "size_bytes", "width", "height", "url", "url_expires_at", "created_at"]));
    }),
  );
  clientCommand(
    assets
      .command("list")
      .description("Assets of the workspace (outputs and uploads), newest first (GET /v1/assets)")
      .addOption(new Option("--kind <kind>", "only image, video or audio assets").choices(["image", "video", "audio"] as const))
      .option("--content-type <type>", "only assets of this content type (e.g. image/png)")
      .addOption(new Option("--source <source>", "only uploads or only job outputs").choices(["upload", "job"] as const))
      .option("-n, --limit <n>", "page size (1-100)")
      .option("--cursor <c>", "page cursor (next_cursor of the previous page)")
      .option("--all", "every page"),
  ).action(
    action(async (flags) => {
      const query = {
        ...(flags.kind && { kind: flags.kind }),
        ...(flags.contentType && { content_type: flags.contentType }),
        ...(flags.source && { source: flags.source }),
        ...(flags.limit !== undefined && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.cursor && { cursor: flags.cursor }),
      };
      const res = await listPage(makeClient(flags).assets.list(query), flags.all);
      output(flags, res, () => table(res.data.map((a) => ({ ...a, source: a.job_id ? "job" : "upload" })), ["id", "content_type", "size_bytes", "source", "created_at"]) + moreHint(res));
    }),
  );
}
