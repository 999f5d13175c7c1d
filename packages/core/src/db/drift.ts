/**
 * Compares a migrated database with schema.prisma: every table, column, data type,
 * nullability, enum, index (name, columns, uniqueness) and foreign key (name, target,
 * ON DELETE) must agree. The SQL migrations are hand-written (the Prisma schema engine
 * is not available here), so this check is what keeps the two honest. Not compared:
 * CHECK constraints (Prisma cannot express them) and column defaults.
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

  problems.push(...(await compareIndexes(db, model)), ...(await compareForeignKeys(db, model)));
  return problems;
}

async function compareIndexes(db: Database, model: SchemaModel): Promise<string[]> {
  const problems: string[] = [];
  const rows = await db.prisma.$queryRawUnsafe<Array<{ name: string; table: string; columns: string; unique: boolean; primary: boolean }>>(
    `SELECT i.relname::text AS name, t.relname::text AS "table", ix.indisunique AS "unique", ix.indisprimary AS "primary",
            array_to_string(ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, ord)
                                    JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord), ',') AS columns
       FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = current_schema() AND t.relname <> '_prisma_migrations'`,
  );
  const actual = new Map(rows.map((r) => [r.name, r]));
  for (const idx of model.indexes) {
    const found = actual.get(idx.name);
    if (!found) {
      problems.push(`index ${idx.name}: in schema.prisma (${idx.table}(${idx.columns.join(", ")})) but not in the database`);
      continue;
    }
    actual.delete(idx.name);
    const describe = (r: { table: string; columns: string; unique: boolean; primary: boolean }) => `${r.primary ? "primary key" : r.unique ? "unique" : "index"} on ${r.table}(${r.columns})`;
    const want = describe({ table: idx.table, columns: idx.columns.join(","), unique: idx.unique, primary: idx.primary });
    const got = describe(found);
    if (want !== got) problems.push(`index ${idx.name}: ${got} in the database, ${want} in schema.prisma`);
  }
  for (const r of actual.values()) problems.push(`index ${r.name}: in the database (${r.table}(${r.columns})) but not in schema.prisma`);
  return problems;
}

const ON_DELETE: Record<string, string> = { a: "NoAction", r: "Restrict", c: "Cascade", n: "SetNull", d: "SetDefault" };

async function compareForeignKeys(db: Database, model: SchemaModel): Promise<string[]> {
  const problems: string[] = [];
  const rows = await db.prisma.$queryRawUnsafe<Array<{ name: string; table: string; target: string; on_delete: string; columns: string; target_columns: string }>>(
    `SELECT c.conname::text AS name, t.relname::text AS "table", r.relname::text AS target, c.confdeltype::text AS on_delete,
            array_to_string(ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, ord)
                                    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.ord), ',') AS columns,
            array_to_string(ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, ord)
                                    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.ord), ',') AS target_columns
       FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
       JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE c.contype = 'f' AND n.nspname = current_schema()`,
  );
  const actual = new Map(rows.map((r) => [r.name, r]));
  for (const fk of model.foreignKeys) {
    const found = actual.get(fk.name);
    const want = `${fk.table}(${fk.columns.join(",")}) → ${fk.referencedTable}(${fk.referencedColumns.join(",")}) ON DELETE ${fk.onDelete}`;
    if (!found) {
      problems.push(`foreign key ${fk.name}: in schema.prisma (${want}) but not in the database`);
      continue;
    }
    actual.delete(fk.name);
    const got = `${found.table}(${found.columns}) → ${found.target}(${found.target_columns}) ON DELETE ${ON_DELETE[found.on_delete] ?? found.on_delete}`;
    if (want !== got) problems.push(`foreign key ${fk.name}: ${got} in the database, ${want} in schema.prisma`);
  }
  for (const r of actual.values()) problems.push(`foreign key ${r.name}: in the database (${r.table}(${r.columns}) → ${r.target}) but not in schema.prisma`);
  return problems;
}
