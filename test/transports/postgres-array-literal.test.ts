/**
 * The array literals the queue store builds for its array parameters (array-literal.ts): the server must read
 * back exactly the elements given, quotes, backslashes, braces, commas, the word NULL and empty strings included.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { integerArray, textArray } from "../../src/transports/postgres/array-literal.js";
import { PG_URL } from "../support/postgres.js";

let client: pg.Client;
beforeAll(async () => {
  client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
});
afterAll(async () => {
  await client.end();
});

describe("postgres array literal", () => {
  it("postgres array literal - text elements come back as given, with SQL NULL for null", async () => {
    const values = ["plain", "", "NULL", "null", 'say "hi"', "back\\slash", "\\\"", "{braces}", "a,b", " spaced ", "été 🚀", "multi\nline", null];
    const { rows } = await client.query<{ v: (string | null)[] }>("SELECT $1::text[] AS v", [textArray(values)]);
    expect(rows[0]!.v).toEqual(values);
  });

  it("postgres array literal - integers and BIGINT seqs given as decimal strings come back as given; empty arrays too", async () => {
    const { rows } = await client.query<{ i: number[]; b: string[]; e: string[] }>("SELECT $1::int[] AS i, $2::bigint[] AS b, $3::text[] AS e", [
      integerArray([0, 7, -3, 2_147_483_647]),
      integerArray(["1", "9007199254740993", "8640000000000000"]),
      textArray([]),
    ]);
    expect(rows[0]).toEqual({ i: [0, 7, -3, 2_147_483_647], b: ["1", "9007199254740993", "8640000000000000"], e: [] });
  });
});
