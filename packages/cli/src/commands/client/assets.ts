/**
 * `aeriox assets upload FILE` (POST /v1/assets: the file is streamed, never read whole; its type
 * comes from the extension unless `--type` says) and `aeriox assets list` (GET /v1/assets,
 * filters as flags, `--all` follows the cursor).
 */
import { createReadStream, statSync } from "node:fs";
import path from "node:path";
import { Option, type Command } from "commander";
import type { ListAssetsData, UploadContentType } from "@aeriox/sdk";
import { UsageError } from "../../output.ts";
import { action, clientCommand, keyValues, makeClient, output, parseInteger, table, type ClientOptions } from "./common.ts";

type Flags = ClientOptions & Record<string, any>;

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
  const assets = program.commands.find((c) => c.name() === "assets") ?? program.command("assets").description("Stored outputs and uploads");
  clientCommand(
    assets
      .command("upload")
      .description("Upload a file as an asset of the workspace (POST /v1/assets; free). Its id works as an asset_id (compose, prisms), its url as a seed image")
      .argument("<file>", "a PNG, JPEG, WebP, MP4, MP3 or WAV file")
      .addOption(new Option("-t, --type <content-type>", "content type (default: from the file's extension)").choices(CONTENT_TYPES)),
  ).action(
    action(async (file: string, flags: Flags) => {
      const contentType: UploadContentType | undefined = flags.type ?? UPLOAD_TYPES[path.extname(file).toLowerCase()];
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
      output(flags, asset, () => keyValues(asset as unknown as Record<string, unknown>, ["id", "content_type", "size_bytes", "width", "height", "url", "url_expires_at", "created_at"]));
    }),
  );
  clientCommand(
    assets
      .command("list")
      .description("Assets of the workspace (outputs and uploads), newest first (GET /v1/assets)")
      .addOption(new Option("--kind <kind>", "only image, video or audio assets").choices(["image", "video", "audio"]))
      .option("--content-type <type>", "only assets of this content type (e.g. image/png)")
      .addOption(new Option("--source <source>", "only uploads or only job outputs").choices(["upload", "job"]))
      .option("-n, --limit <n>", "page size (1-100)")
      .option("--cursor <c>", "page cursor (next_cursor of the previous page)")
      .option("--all", "every page"),
  ).action(
    action(async (flags: Flags) => {
      const query: NonNullable<ListAssetsData["query"]> = {
        ...(flags.kind && { kind: flags.kind }),
        ...(flags.contentType && { content_type: flags.contentType }),
        ...(flags.source && { source: flags.source }),
        ...(flags.limit !== undefined && { limit: parseInteger(flags.limit, "--limit", 1) }),
        ...(flags.cursor && { cursor: flags.cursor }),
      };
      const client = makeClient(flags);
      const res = flags.all ? { data: await client.assets.list(query).toArray(), next_cursor: null } : await client.assets.list(query);
      output(flags, res, () =>
        table(
          res.data.map((a) => ({ ...a, source: a.job_id ? "job" : "upload" })),
          ["id", "content_type", "size_bytes", "source", "created_at"],
        ) + (res.next_cursor ? `\nmore: --cursor ${res.next_cursor}` : ""),
      );
    }),
  );
}
