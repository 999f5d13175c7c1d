/**
 * A minimal ZIP writer (stored entries, no compression) for the training archive fal's
 * trainer downloads (`images_data_url`). Reference images are already compressed, so
 * "store" costs no size and no CPU beyond a CRC-32 (zlib's, native): no dependency needed.
 * Format: APPNOTE 6.3.x local headers + central directory + end record; no ZIP64 (the
 * archive is bounded by 5 references × FETCH_MAX_BYTES, far below 4 GiB).
 */
import { crc32 } from "node:zlib";

export interface ZipEntry {
  name: string;
  bytes: Uint8Array;
}

/** DOS date/time of 1980-01-01 00:00: fixed, so the same references give the same archive. */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

export function storedZip(entries: ZipEntry[]): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, "utf8");
    const data = Buffer.from(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength);
    const crc = crc32(data) >>> 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, data);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4); // made by
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, directory, end]));
}

/** Reads back the names and bytes of a stored archive (tests and the fal mock use it to check what was sent). */
export function readStoredZip(zip: Uint8Array): ZipEntry[] {
  const b = Buffer.from(zip.buffer, zip.byteOffset, zip.byteLength);
  const entries: ZipEntry[] = [];
  let p = 0;
  while (p + 30 <= b.length && b.readUInt32LE(p) === 0x04034b50) {
    const size = b.readUInt32LE(p + 18);
    const nameLength = b.readUInt16LE(p + 26);
    const extra = b.readUInt16LE(p + 28);
    const name = b.toString("utf8", p + 30, p + 30 + nameLength);
    const start = p + 30 + nameLength + extra;
    entries.push({ name, bytes: new Uint8Array(b.subarray(start, start + size)) });
    p = start + size;
  }
  return entries;
}
