/** Probing bytes with the bundled ffmpeg (`ffmpeg -i` stderr; there is no ffprobe). */
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { probeMedia, type MediaInfo } from "../../src/media/ffmpeg.ts";

export async function probeBytes(bytes: Uint8Array, ext: string): Promise<MediaInfo> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "aeriox-probe-test-"));
  try {
    const file = path.join(dir, `x.${ext}`);
    await fs.writeFile(file, bytes);
    return await probeMedia(file);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}
