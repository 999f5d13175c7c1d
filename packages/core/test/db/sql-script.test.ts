import { describe, expect, it } from "vitest";
import { splitSqlStatements } from "../../src/db/sql-script.ts";

describe("splitSqlStatements", () => {
  it("splits on semicolons outside comments, strings, identifiers and dollar quotes", () => {
    const script = `-- a comment; not a statement
CREATE TABLE "a;b" ("x" TEXT DEFAULT 'it''s; fine');
/* block; comment */ INSERT INTO t VALUES ('x');
CREATE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ LANGUAGE plpgsql;
SELECT 1`;
    expect(splitSqlStatements(script)).toEqual([
      `CREATE TABLE "a;b" ("x" TEXT DEFAULT 'it''s; fine')`,
      `INSERT INTO t VALUES ('x')`,
      `CREATE FUNCTION f() RETURNS void AS $body$ BEGIN PERFORM 1; END $body$ LANGUAGE plpgsql`,
      `SELECT 1`,
    ]);
  });
});
