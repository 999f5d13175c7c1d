/**
 * Where asset bytes live. The default keeps them in a folder under DATA_DIR (for
 * several machines, point DATA_DIR's `assets/` at shared storage); the interface
 * is what an S3-compatible backend would implement.
 */
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { createReadStream } from "node:fs";
import path from "node:path";
import type { Readable } from "node:stream";

export interface AssetStorage {
  put(key: string, bytes: Uint8Array): Promise<void>;
  read(key: string): Promise<Uint8Array>;
  stream(key: string): Promise<{ stream: Readable; size: number }>;
  remove(key: string): Promise<void>;
}

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9/_.-]*$/;

export function createLocalAssetStorage(root: string): AssetStorage {
  const fileOf = (key: string) => {
    if (!SAFE_KEY.test(key) || key.includes("..")) throw new Error(`invalid storage key ${key}`);
    return path.join(root, key);
  };
  return {
    async put(key, bytes) {
      const file = fileOf(key);
      await mkdir(path.dirname(file), { recursive: true });
      // Write then rename so a reader never sees half a file.
      const temp = `${file}.${process.pid}.tmp`;
      await writeFile(temp, bytes);
      await rename(temp, file);
    },
    async read(key) {
      return new Uint8Array(await readFile(fileOf(key)));
    },
    async stream(key) {
      const file = fileOf(key);
      const { size } = await stat(file);
      return { stream: createReadStream(file), size };
    },
    async remove(key) {
      await rm(fileOf(key), { force: true });
    },
  };
}
