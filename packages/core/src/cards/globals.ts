/**
 * Global cards: read-only cards without a workspace (`workspace_id` null, `global_key` set),
 * visible to every workspace — listed with its own cards (and alone with `globals_only=1`),
 * readable, rendered, searchable and usable as edge targets and parents, never created,
 * changed or deleted through the API (DELETE answers 403 `global_card_read_only`).
 *
 * They come from a catalog file — `packages/core/data/cards.global.v1.json`, or the file
 * CARDS_GLOBAL_CATALOG names — loaded by every API server at start-up, idempotently:
 * - an entry is matched by its `key`; its card id is derived from the key (UUID v5-style,
 *   SHA-1 of `aeriox-global-card:<key>`), so it is the same on every deployment and restart;
 * - a new key inserts a card; a changed entry updates it in place (same id, edges kept) and
 *   its vector is recomputed in the background; an unchanged one is left alone;
 * - a key removed from the file soft-deletes its card (it disappears from lists, search and
 *   edges); putting the key back restores it.
 * Several servers starting at once converge (INSERT … ON CONFLICT on `global_key`).
 * An invalid file stops start-up with a one-line reason.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Runtime } from "../runtime.ts";
import { ConfigError } from "../config.ts";
import { resourcePath } from "../resources.ts";
import { isCardType, CARD_TYPES } from "./types.ts";

export const BUNDLED_GLOBAL_CARDS_FILE = resourcePath("packages/core/data/cards.global.v1.json", new URL("../../data/cards.global.v1.json", import.meta.url));

export interface GlobalCardEntry {
  key: string;
  card_type: string;
  name: string;
  description: string | null;
  attributes: Record<string, unknown>;
  preview_url: string | null;
  thumb_url: string | null;
  visibility_scopes: string[];
}

const KEY = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const MAX_ENTRIES = 10_000;

/** The id of the global card with this key: a name-based UUID (version 5 layout, SHA-1). */
export function globalCardId(key: string): string {
  const h = createHash("sha1").update(`aeriox-global-card:${key}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

export function parseGlobalCatalog(text: string, file: string): GlobalCardEntry[] {
  const fail = (reason: string): never => {
    throw new ConfigError(`Global cards catalog ${file}: ${reason}`);
  };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  const doc = raw as { version?: unknown; cards?: unknown };
  if (doc?.version !== 1) fail("`version` must be 1");
  if (!Array.isArray(doc.cards) || doc.cards.length > MAX_ENTRIES) fail(`\`cards\` must be an array of at most ${MAX_ENTRIES} entries`);
  const seen = new Set<string>();
  return (doc.cards as unknown[]).map((value, i) => {
    const e = value as Record<string, unknown>;
    const at = `cards[${i}]`;
    if (!e || typeof e !== "object") fail(`${at} must be an object`);
    if (typeof e.key !== "string" || !KEY.test(e.key)) fail(`${at}.key must match ${KEY}`);
    if (seen.has(e.key as string)) fail(`${at}.key '${e.key}' is used twice`);
    seen.add(e.key as string);
    if (typeof e.card_type !== "string" || !isCardType(e.card_type)) fail(`${at}.card_type must be one of ${CARD_TYPES.join(", ")}`);
    if (typeof e.name !== "string" || e.name.trim().length === 0 || e.name.length > 200) fail(`${at}.name must be 1 to 200 characters`);
    if (e.description !== undefined && e.description !== null && (typeof e.description !== "string" || e.description.length > 10_000)) fail(`${at}.description must be a string of at most 10000 characters`);
    if (e.attributes !== undefined && (typeof e.attributes !== "object" || e.attributes === null || Array.isArray(e.attributes))) fail(`${at}.attributes must be an object`);
    for (const field of ["preview_url", "thumb_url"]) if (e[field] !== undefined && e[field] !== null && typeof e[field] !== "string") fail(`${at}.${field} must be a string`);
    const scopes = e.visibility_scopes ?? [];
    if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== "string" || s.length === 0 || s.length > 64)) fail(`${at}.visibility_scopes must be strings of 1 to 64 characters`);
    return {
      key: e.key as string,
      card_type: e.card_type as string,
      name: e.name as string,
      description: (e.description as string | undefined) ?? null,
      attributes: (e.attributes as Record<string, unknown> | undefined) ?? {},
      preview_url: (e.preview_url as string | undefined) ?? null,
      thumb_url: (e.thumb_url as string | undefined) ?? null,
      visibility_scopes: [...new Set(scopes as string[])],
    };
  });
}

export interface GlobalLoadResult {
  file: string;
  entries: number;
  inserted: number;
  updated: number;
  removed: number;
}

/** Loads (or reloads) the catalog into the database; see the module comment. */
export async function loadGlobalCards(services: Pick<Runtime, "db" | "logger">, file: string = BUNDLED_GLOBAL_CARDS_FILE): Promise<GlobalLoadResult> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`Global cards catalog ${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const entries = parseGlobalCatalog(text, file);
  let inserted = 0;
  let updated = 0;
  for (const e of entries) {
    // xmax = 0 tells an insert from an update; the WHERE leaves an unchanged row untouched.
    const rows = await services.db.prisma.$queryRaw<Array<{ inserted: boolean }>>`
      INSERT INTO cards (id, workspace_id, global_key, card_type, name, description, attributes, preview_url, thumb_url, visibility_scopes)
      VALUES (${globalCardId(e.key)}::uuid, NULL, ${e.key}, ${e.card_type}, ${e.name}, ${e.description}, ${JSON.stringify(e.attributes)}::jsonb,
              ${e.preview_url}, ${e.thumb_url}, string_to_array(${e.visibility_scopes.join("\u001f")}, E'\\x1f')::text[])
      ON CONFLICT (global_key) DO UPDATE SET
        card_type = EXCLUDED.card_type, name = EXCLUDED.name, description = EXCLUDED.description, attributes = EXCLUDED.attributes,
        preview_url = EXCLUDED.preview_url, thumb_url = EXCLUDED.thumb_url, visibility_scopes = EXCLUDED.visibility_scopes, deleted_at = NULL,
        embedding_model = CASE WHEN (cards.name, cards.description, cards.attributes) IS NOT DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.attributes)
                               THEN cards.embedding_model END
      WHERE (cards.card_type, cards.name, cards.description, cards.attributes, cards.preview_url, cards.thumb_url, cards.visibility_scopes, cards.deleted_at)
            IS DISTINCT FROM (EXCLUDED.card_type, EXCLUDED.name, EXCLUDED.description, EXCLUDED.attributes, EXCLUDED.preview_url, EXCLUDED.thumb_url, EXCLUDED.visibility_scopes, NULL::timestamptz)
      RETURNING (xmax = 0) AS inserted`;
    if (rows[0]?.inserted) inserted++;
    else if (rows.length) updated++;
  }
  const keys = entries.map((e) => e.key);
  const removed = await services.db.prisma.$executeRaw`
    UPDATE cards SET deleted_at = now()
    WHERE global_key IS NOT NULL AND deleted_at IS NULL AND NOT (global_key = ANY(string_to_array(${keys.join(",")}, ',')))`;
  const result = { file, entries: entries.length, inserted, updated, removed };
  if (inserted || updated || removed) services.logger.info(result, "global cards loaded");
  return result;
}
