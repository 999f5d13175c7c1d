/**
 * The one definition of an id's shape: a uuid in the 8-4-4-4-12 form the API hands out, in
 * either case. Not the URN form (`urn:uuid:…`) that ajv-formats' `uuid` also passes, which
 * PostgreSQL's uuid type refuses.
 */
export const UUID_SOURCE = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

export const UUID = new RegExp(`^${UUID_SOURCE}$`);

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID.test(value);
}
