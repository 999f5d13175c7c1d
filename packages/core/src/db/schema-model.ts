/**
 * A small reader of prisma/schema.prisma that yields the columns and enums the
 * schema implies in PostgreSQL (as `information_schema` names them). The generated
 * client's runtime data model lacks nullability and native types, and
 * `@prisma/internals` is not a dependency, so the drift check reads the schema itself.
 * It understands what this project's schema uses: scalar, optional and list fields,
 * `@map`/`@@map`, `@db.*` native types, enums and relation fields (which have no column).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const SCHEMA_PATH = fileURLToPath(new URL("../../prisma/schema.prisma", import.meta.url));

export interface ExpectedColumn {
  table: string;
  column: string;
  /** PostgreSQL `udt_name`: `text`, `uuid`, `int8`, `timestamptz`, `_text` (array of text), an enum's name... */
  udt: string;
  nullable: boolean;
}

/** An index Prisma would create, named by Prisma's conventions (`_pkey`, `_key`, `_idx`). */
export interface ExpectedIndex {
  table: string;
  name: string;
  columns: string[];
  unique: boolean;
  primary: boolean;
}

/** A foreign key Prisma would create for a relation (`{table}_{columns}_fkey`). */
export interface ExpectedForeignKey {
  table: string;
  name: string;
  columns: string[];
  referencedTable: string;
  referencedColumns: string[];
  onDelete: "Cascade" | "Restrict" | "SetNull" | "NoAction" | "SetDefault";
}

export interface SchemaModel {
  columns: ExpectedColumn[];
  indexes: ExpectedIndex[];
  foreignKeys: ExpectedForeignKey[];
  /** Enum type name in the database → its values, in order. */
  enums: Map<string, string[]>;
}

interface Block {
  kind: "model" | "enum";
  name: string;
  lines: string[];
}

function stripComment(line: string): string {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === '"' && line[i - 1] !== "\\") inString = !inString;
    if (!inString && ch === "/" && line[i + 1] === "/") return line.slice(0, i);
  }
  return line;
}

function readBlocks(text: string): Block[] {
  const blocks: Block[] = [];
  let current: Block | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = stripComment(raw).trim();
    if (!line) continue;
    const open = /^(model|enum)\s+(\w+)\s*\{$/.exec(line);
    if (open) {
      current = { kind: open[1] as Block["kind"], name: open[2]!, lines: [] };
      continue;
    }
    if (line === "}") {
      if (current) blocks.push(current);
      current = null;
      continue;
    }
    current?.lines.push(line);
  }
  return blocks;
}

const mapped = (lines: string[]): string | undefined => lines.map((l) => /^@@map\("([^"]+)"\)/.exec(l)?.[1]).find(Boolean);

const SCALAR_UDT: Record<string, string> = {
  String: "text",
  Int: "int4",
  BigInt: "int8",
  Float: "float8",
  Decimal: "numeric",
  Boolean: "bool",
  DateTime: "timestamp",
  Json: "jsonb",
  Bytes: "bytea",
};

const NATIVE_UDT: Record<string, string> = {
  Uuid: "uuid",
  Text: "text",
  VarChar: "varchar",
  Char: "bpchar",
  Timestamptz: "timestamptz",
  Timestamp: "timestamp",
  Date: "date",
  Real: "float4",
  DoublePrecision: "float8",
  Integer: "int4",
  SmallInt: "int2",
  JsonB: "jsonb",
  Json: "json",
};

export function parseSchema(text: string): SchemaModel {
  const blocks = readBlocks(text);
  const enumDbName = new Map<string, string>();
  const enums = new Map<string, string[]>();
  for (const block of blocks.filter((b) => b.kind === "enum")) {
    const dbName = mapped(block.lines) ?? block.name;
    enumDbName.set(block.name, dbName);
    enums.set(dbName, block.lines.filter((l) => !l.startsWith("@")).map((l) => l.split(/\s+/)[0]!));
  }
  const modelBlocks = blocks.filter((b) => b.kind === "model");
  const models = new Set(modelBlocks.map((b) => b.name));
  const tableOf = new Map(modelBlocks.map((b) => [b.name, mapped(b.lines) ?? b.name]));
  const columns: ExpectedColumn[] = [];
  const indexes: ExpectedIndex[] = [];
  const foreignKeys: ExpectedForeignKey[] = [];
  for (const block of modelBlocks) {
    const table = tableOf.get(block.name)!;
    // Field name → column name, for @@index/@@unique/@@id and relations.
    const columnOf = new Map<string, string>();
    const relations: Array<{ target: string; optional: boolean; attributes: string }> = [];
    for (const line of block.lines) {
      if (line.startsWith("@@")) continue;
      const field = /^(\w+)\s+(\w+)(\[\]|\?)?(.*)$/.exec(line);
      if (!field) throw new Error(`schema.prisma: cannot read field line in model ${block.name}: ${line}`);
      const [, name, type, modifier, attributes] = field as unknown as [string, string, string, string | undefined, string];
      if (models.has(type)) {
        // Relation field: no column; the side with `fields:` owns a foreign key.
        if (/fields:\s*\[/.test(attributes)) relations.push({ target: type, optional: modifier === "?", attributes });
        continue;
      }
      const column = /@map\("([^"]+)"\)/.exec(attributes)?.[1] ?? name;
      columnOf.set(name, column);
      if (/@id\b/.test(attributes)) indexes.push({ table, name: `${table}_pkey`, columns: [column], unique: true, primary: true });
      if (/@unique\b/.test(attributes)) indexes.push({ table, name: `${table}_${column}_key`, columns: [column], unique: true, primary: false });
      const native = /@db\.(\w+)/.exec(attributes)?.[1];
      const base = native ? NATIVE_UDT[native] : enumDbName.get(type) ?? SCALAR_UDT[type];
      if (!base) throw new Error(`schema.prisma: unknown type ${type}${native ? ` @db.${native}` : ""} on ${block.name}.${name}`);
      const isList = modifier === "[]";
      columns.push({
        table,
        column: /@map\("([^"]+)"\)/.exec(attributes)?.[1] ?? name,
        udt: isList ? `_${base}` : base,
        // Prisma creates scalar-list columns without NOT NULL.
        nullable: modifier === "?" || isList,
      });
    }
    const fieldList = (list: string) => list.split(",").map((f) => f.trim()).filter(Boolean).map((f) => columnOf.get(f) ?? f);
    for (const line of block.lines) {
      const attr = /^@@(id|unique|index)\(\[([^\]]*)\]/.exec(line);
      if (!attr) continue;
      const cols = fieldList(attr[2]!);
      if (attr[1] === "id") indexes.push({ table, name: `${table}_pkey`, columns: cols, unique: true, primary: true });
      else indexes.push({ table, name: `${table}_${cols.join("_")}_${attr[1] === "unique" ? "key" : "idx"}`, columns: cols, unique: attr[1] === "unique", primary: false });
    }
    for (const rel of relations) {
      const cols = fieldList(/fields:\s*\[([^\]]*)\]/.exec(rel.attributes)![1]!);
      const targetColumns = /references:\s*\[([^\]]*)\]/.exec(rel.attributes)![1]!;
      const targetBlock = modelBlocks.find((b) => b.name === rel.target)!;
      const targetColumnOf = (f: string) => {
        const line = targetBlock.lines.find((l) => l.startsWith(`${f} `));
        return (line && /@map\("([^"]+)"\)/.exec(line)?.[1]) ?? f;
      };
      const onDelete = (/onDelete:\s*(\w+)/.exec(rel.attributes)?.[1] ?? (rel.optional ? "SetNull" : "Restrict")) as ExpectedForeignKey["onDelete"];
      foreignKeys.push({
        table,
        name: `${table}_${cols.join("_")}_fkey`,
        columns: cols,
        referencedTable: tableOf.get(rel.target)!,
        referencedColumns: targetColumns.split(",").map((f) => targetColumnOf(f.trim())),
        onDelete,
      });
    }
  }
  return { columns, indexes, foreignKeys, enums };
}

export function readSchemaModel(schemaPath: string = SCHEMA_PATH): SchemaModel {
  return parseSchema(readFileSync(schemaPath, "utf8"));
}
