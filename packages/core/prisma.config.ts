// Prisma 7 CLI configuration. Only `prisma generate` runs here (see scripts/prisma-generate.mjs);
// `prisma migrate status|deploy` work where the native schema engine exists, against
// DATABASE_URL, and agree with src/db/migrate.ts (same _prisma_migrations bookkeeping).
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/aeriox" },
});
