-- Card search that is really semantic (or honestly lexical), global cards, and the
-- bookkeeping of write-time embeddings (packages/core/src/cards/search.ts, embedding.ts).
-- Runs on PGlite and on PostgreSQL: each extension is created only where the server
-- has it (and the role may create it); the search code asks the catalog what exists.

-- Extensions, where available. pg_trgm (typo tolerance) and unaccent are "trusted" since
-- PostgreSQL 13, so a database owner may create them; vector (pgvector) ships with PGlite
-- and exists on some servers. A server without one of them still migrates: the code
-- that needs it checks pg_extension and does without (search.ts, `capabilities`).
DO $$
DECLARE ext TEXT;
BEGIN
  FOREACH ext IN ARRAY ARRAY['pg_trgm', 'unaccent', 'vector'] LOOP
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = ext) THEN
      BEGIN
        EXECUTE format('CREATE EXTENSION IF NOT EXISTS %I', ext);
      EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'extension % is available but this role may not create it; card search does without it', ext;
      END;
    END IF;
  END LOOP;
END $$;

-- aeriox_unaccent(text): accents folded where the unaccent extension exists, the text
-- unchanged otherwise. IMMUTABLE (unaccent() itself is only STABLE because its dictionary
-- could change), so lexical search can use it in one expression on both backends.
DO $$
DECLARE nsp TEXT;
BEGIN
  SELECT n.nspname INTO nsp FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent';
  IF nsp IS NOT NULL THEN
    EXECUTE format(
      'CREATE OR REPLACE FUNCTION aeriox_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS %L',
      format('SELECT %I.unaccent(%L::regdictionary, $1)', nsp, nsp || '.unaccent'));
  ELSE
    CREATE OR REPLACE FUNCTION aeriox_unaccent(text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT $1';
  END IF;
END $$;

-- Global cards: read-only rows without a workspace, keyed by the catalog entry that
-- defines them (packages/core/data/cards.global.v1.json, loaded at start-up).
ALTER TABLE "cards" ALTER COLUMN "workspace_id" DROP NOT NULL;
ALTER TABLE "cards" ADD COLUMN "global_key" TEXT;
CREATE UNIQUE INDEX "cards_global_key_key" ON "cards"("global_key");
-- Exactly one of the two: a card belongs to a workspace or is global.
ALTER TABLE "cards" ADD CONSTRAINT "cards_owner_xor_global" CHECK (("workspace_id" IS NULL) <> ("global_key" IS NULL));

-- Which model produced `embedding` (vectors of different models are not comparable),
-- and the retry bookkeeping of cards whose embedding has not been computed yet.
ALTER TABLE "cards" ADD COLUMN "embedding_model" TEXT;
ALTER TABLE "cards" ADD COLUMN "embedding_attempts" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "cards" ADD COLUMN "embedding_retry_at" TIMESTAMPTZ(3);

-- The vectors of the old built-in hashed-trigram "embedding" are neither semantic nor
-- lexical and have no model name: dropped, so a configured model embeds every card anew.
UPDATE "cards" SET "embedding" = NULL;
