import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { createTestDatabase, type TestDatabase } from "../../src/db/testing.ts";
import { findSchemaDrift } from "../../src/db/drift.ts";
import { parseSchema, readSchemaModel, SCHEMA_PATH } from "../../src/db/schema-model.ts";
import { backends } from "./backends.ts";

describe("schema.prisma reader", () => {
  it("sees every model's columns with types and nullability", () => {
    const model = readSchemaModel();
    const col = (table: string, column: string) => model.columns.find((c) => c.table === table && c.column === column);
    expect(col("wallets", "balance_micros")).toEqual({ table: "wallets", column: "balance_micros", udt: "int8", nullable: false });
    expect(col("api_keys", "scopes")).toEqual({ table: "api_keys", column: "scopes", udt: "_text", nullable: true });
    expect(col("jobs", "status")?.udt).toBe("job_status");
    expect(col("jobs", "created_at")?.udt).toBe("timestamptz");
    expect(col("cards", "embedding")?.udt).toBe("_float4");
    expect(col("workspaces", "api_keys")).toBeUndefined(); // relation field
    expect(model.enums.get("ledger_entry_kind")).toEqual(["trial", "topup", "adjustment", "capture", "refund", "refund_out", "dispute"]);
    expect(model.indexes).toContainEqual({ table: "ledger_entries", name: "ledger_entries_job_id_kind_key", columns: ["job_id", "kind"], unique: true, primary: false });
    expect(model.indexes).toContainEqual({ table: "idempotency_records", name: "idempotency_records_pkey", columns: ["workspace_id", "key"], unique: true, primary: true });
    expect(model.indexes).toContainEqual({ table: "api_keys", name: "api_keys_key_hash_key", columns: ["key_hash"], unique: true, primary: false });
    expect(model.indexes).toContainEqual({ table: "jobs", name: "jobs_status_deadline_at_idx", columns: ["status", "deadline_at"], unique: false, primary: false });
    expect(model.foreignKeys).toContainEqual({ table: "assets", name: "assets_job_id_fkey", columns: ["job_id"], referencedTable: "jobs", referencedColumns: ["id"], onDelete: "SetNull" });
    expect(model.foreignKeys).toContainEqual({ table: "ledger_entries", name: "ledger_entries_workspace_id_fkey", columns: ["workspace_id"], referencedTable: "workspaces", referencedColumns: ["id"], onDelete: "Restrict" });
  });
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`drift between schema.prisma and the migrated ${backend.name}`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase({ databaseUrl: backend.databaseUrl });
    });
    afterAll(async () => {
      await db?.dispose();
    });

    it("finds none", async () => {
      expect(await findSchemaDrift(db)).toEqual([]);
    });

    it("names a schema.prisma change the SQL lacks", async () => {
      const text = readFileSync(SCHEMA_PATH, "utf8")
        .replace('name                String?\n  /// Display prefix', 'name                String\n  /// Display prefix')
        .replace("  rotatedToId         String?   @map(\"rotated_to_id\") @db.Uuid", "  rotatedToId         String?   @map(\"rotated_to_id\") @db.Uuid\n  note String?");
      expect(await findSchemaDrift(db, parseSchema(text))).toEqual([
        "api_keys.name: nullable in the database, NOT NULL in schema.prisma",
        "api_keys.note: column in schema.prisma but not in the database",
      ]);
    });

    it("names each database change schema.prisma lacks", async () => {
      await db.prisma.$executeRawUnsafe(`ALTER TABLE "wallets" ADD COLUMN "surprise" INTEGER`);
      await db.prisma.$executeRawUnsafe(`ALTER TABLE "jobs" ALTER COLUMN "provider" DROP NOT NULL`);
      await db.prisma.$executeRawUnsafe(`ALTER TABLE "assets" ALTER COLUMN "width" TYPE BIGINT`);
      await db.prisma.$executeRawUnsafe(`ALTER TYPE "hold_status" ADD VALUE 'expired'`);
      await db.prisma.$executeRawUnsafe(`CREATE TABLE "stray" ("id" INTEGER)`);
      await db.prisma.$executeRawUnsafe(`DROP INDEX "jobs_model_status_idx"`);
      await db.prisma.$executeRawUnsafe(`CREATE INDEX "wallets_currency_idx" ON "wallets"("currency")`);
      await db.prisma.$executeRawUnsafe(`ALTER TABLE "assets" DROP CONSTRAINT "assets_job_id_fkey"`);
      await db.prisma.$executeRawUnsafe(`ALTER TABLE "assets" ADD CONSTRAINT "assets_job_id_fkey" FOREIGN KEY ("job_id") REFERENCES "jobs"("id") ON DELETE CASCADE ON UPDATE CASCADE`);
      const drift = await findSchemaDrift(db);
      expect(drift).toEqual(
        expect.arrayContaining([
          "wallets.surprise: column in the database but not in schema.prisma",
          "jobs.provider: nullable in the database, NOT NULL in schema.prisma",
          "assets.width: type is int8 in the database, int4 in schema.prisma",
          "enum hold_status: values are (held, captured, released, expired) in the database, (held, captured, released) in schema.prisma",
          "stray: table in the database but not in schema.prisma",
          "index jobs_model_status_idx: in schema.prisma (jobs(model, status)) but not in the database",
          "index wallets_currency_idx: in the database (wallets(currency)) but not in schema.prisma",
          "foreign key assets_job_id_fkey: assets(job_id) → jobs(id) ON DELETE Cascade in the database, assets(job_id) → jobs(id) ON DELETE SetNull in schema.prisma",
        ]),
      );
      expect(drift).toHaveLength(8);
    });
  });
}
