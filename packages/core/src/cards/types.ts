/**
 * The card library: the workspace's creative building blocks and the typed edges
 * between them. Card types are a closed, documented set; anything else is a 400.
 */
import { ApiError } from "../errors.ts";

export const CARD_TYPES = ["character", "style", "location", "prop", "motion", "voice", "prompt", "scene", "asset"] as const;
export type CardType = (typeof CARD_TYPES)[number];

export function isCardType(value: string): value is CardType {
  return (CARD_TYPES as readonly string[]).includes(value);
}

/** 400 `unknown_card_type` naming the field (`body.card_type`, `query.type`, ...). */
export function parseCardType(value: string, field: string): CardType {
  if (isCardType(value)) return value;
  throw ApiError.badRequest("unknown_card_type", `Unknown card type '${value.slice(0, 64)}'`, {
    fields: [{ field, message: `must be one of ${CARD_TYPES.join(", ")}` }],
  });
}

export type FieldIssue = { field: string; message: string };

export function invalid(fields: FieldIssue[]): ApiError {
  return ApiError.badRequest("invalid_request", `Request validation failed: ${fields.map((f) => `${f.field} ${f.message}`).join("; ")}`, { fields });
}
