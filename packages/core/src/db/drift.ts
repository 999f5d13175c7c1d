/**
 * Compares a migrated database with schema.prisma: every table, column, data type,
 * nullability and enum must agree. The SQL migrations are hand-written (the Prisma
 * schema engine is not available here), so this check is what keeps the two honest.
 * CHECK constraints, indexes and defaults are not compared (Prisma cannot express
 * CHECKs; the rest is exercised by the tests that use the database).
 */
import type { Database } from "./index.ts";
import { readSchemaModel, type SchemaModel } from "./schema-model.ts";

interface DbColumn {
  table_name: string;
  column_name: string;
  udt_name: string;
  is_nullable: "YES" | "NO";
}

const IGNORED_TABLES = new Set(["_prisma_migrations"]);

/** Returns one human-readable line per mismatch; empty when database and schema agree. */
export async function findSchemaDrift(db: Database, model: SchemaModel = readSchemaModel()): Promise<string[]> {
  const problems: string[] = [];
  const rows = await db.prisma.$queryRawUnsafe<DbColumn[]>(
    `SELECT c.table_name::text, c.column_name::text, c.udt_name::text, c.is_nullable::text
       FROM information_schema.columns c
       JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
      WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
      ORDER BY c.table_name, c.ordinal_position`,
  );
  const actual = new Map(rows.filter((r) => !IGNORED_TABLES.has(r.table_name)).map((r) => [`${r.table_name}.${r.column_name}`, r]));
  const expectedTables = new Set(model.columns.map((c) => c.table));
  const actualTables = new Set([...actual.values()].map((r) => r.table_name));

  for (const table of expectedTables) if (!actualTables.has(table)) problems.push(`${table}: table in schema.prisma but not in the database`);
  for (const table of actualTables) if (!expectedTables.has(table)) problems.push(`${table}: table in the database but not in schema.prisma`);

  for (const col of model.columns) {
    if (!actualTables.has(col.table)) continue;
    const key = `${col.table}.${col.column}`;
    const found = actual.get(key);
    if (!found) {
      problems.push(`${key}: column in schema.prisma but not in the database`);
      continue;
    }
    actual.delete(key);
    if (found.udt_name !== col.udt) problems.push(`${key}: type is ${found.udt_name} in the database, ${col.udt} in schema.prisma`);
    const nullable = found.is_nullable === "YES";
    if (nullable !== col.nullable) problems.push(`${key}: ${nullable ? "nullable" : "NOT NULL"} in the database, ${col.nullable ? "nullable" : "NOT NULL"} in schema.prisma`);
  }
  for (const [key, row] of actual) if (expectedTables.has(row.table_name)) problems.push(`${key}: column in the database but not in schema.prisma`);

  const enumRows = await db.prisma.$queryRawUnsafe<Array<{ name: string; value: string }>>(
    `SELECT t.typname::text AS name, e.enumlabel::text AS value
       FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema() ORDER BY t.typname, e.enumsortorder`,
  );
  const dbEnums = new Map<string, string[]>();
  for (const row of enumRows) dbEnums.set(row.name, [...(dbEnums.get(row.name) ?? []), row.value]);
  for (const [name, values] of model.enums) {
    const found = dbEnums.get(name);
    if (!found) problems.push(`enum ${name}: in schema.prisma but not in the database`);
    else if (found.join(",") !== values.join(",")) problems.push(`enum ${name}: values are (${found.join(", ")}) in the database, (${values.join(", ")}) in schema.prisma`);
  }
  for (const name of dbEnums.keys()) if (!model.enums.has(name)) problems.push(`enum ${name}: in the database but not in schema.prisma`);
  return problems;
}
