// duckdb_rows.mjs: runs one SQL query with DuckDB's node client and prints its rows as one
// JSON array (numbers as strings where DuckDB's JSON form has them so), for tests to read
// with jq.
//   node tests/duckdb_rows.mjs NODE_DIR "SELECT ..."
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const [nodeDir, sql] = process.argv.slice(2);
if (!nodeDir || !sql) throw new Error('usage: duckdb_rows.mjs NODE_DIR SQL');
const require = createRequire(resolve(nodeDir) + '/');
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const reader = await con.runAndReadAll(sql);
console.log(JSON.stringify(reader.getRowObjectsJson()));
