// parquet_edge_check.mjs: reads tests/parquet_edge.c's Parquet file with DuckDB and checks it
// against the JSON Lines of the values written: every value, the types (unsigned annotations
// included), and each row group's statistics (min and max in the column's own order: unsigned
// for the unsigned columns, bytewise for strings; null counts), encodings and compression.
//   node tests/parquet_edge_check.mjs NODE_DIR EDGE.parquet EDGE.jsonl ZSTD|UNCOMPRESSED
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const [nodeDir, parquet, jsonl, codec] = process.argv.slice(2);
const require = createRequire(resolve(nodeDir) + '/');
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
const pq = `'${parquet.replaceAll("'", "''")}'`;
await con.run('SET threads = 1');

let failures = 0;
const fail = (msg) => { if (++failures <= 20) console.log(`FAIL ${msg}`); };
const want = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const columns = Object.keys(want[0]);
const GROUP = 1500;

const types = Object.fromEntries((await rows(`DESCRIBE SELECT * FROM ${pq}`)).map((r) => [r.column_name, r.column_type]));
const wantTypes = { u32: 'UINTEGER', u64: 'UBIGINT', i32: 'INTEGER', all_null: 'VARCHAR', text: 'VARCHAR',
  constant: 'BIGINT', wide: 'VARCHAR', runs: 'BIGINT' };
for (const [c, t] of Object.entries(wantTypes)) if (types[c] !== t) fail(`${c}: type ${types[c]}, want ${t}`);

const got = await rows(`SELECT * FROM ${pq}`);
if (got.length !== want.length) fail(`rows: ${got.length}, want ${want.length}`);
let compared = 0;
for (let i = 0; i < Math.min(got.length, want.length); i++) {
  for (const c of columns) {
    const g = got[i][c] === null ? null : String(got[i][c]);
    if (g !== want[i][c]) fail(`row ${i} ${c}: ${JSON.stringify(g)?.slice(0, 40)}, want ${JSON.stringify(want[i][c])?.slice(0, 40)}`);
    compared++;
  }
}

// Expected statistics, in each column's own order.
const numeric = new Set(['u32', 'u64', 'i32', 'constant', 'runs']);
const less = (c, a, b) => numeric.has(c) ? BigInt(a) < BigInt(b) : Buffer.compare(Buffer.from(a), Buffer.from(b)) < 0;
const meta = await rows(`SELECT row_group_id::INTEGER AS g, path_in_schema AS c, stats_min_value AS lo,
                                stats_max_value AS hi, stats_null_count::INTEGER AS nulls, compression, encodings
                         FROM parquet_metadata(${pq})`);
for (const m of meta) {
  const values = want.slice(m.g * GROUP, (m.g + 1) * GROUP).map((r) => r[m.c]);
  const present = values.filter((v) => v !== null);
  let lo = null, hi = null;
  for (const v of present) {
    if (lo === null || less(m.c, v, lo)) lo = v;
    if (hi === null || less(m.c, hi, v)) hi = v;
  }
  if (m.nulls !== values.length - present.length) fail(`group ${m.g} ${m.c}: null count ${m.nulls}, want ${values.length - present.length}`);
  if ((m.lo ?? null) !== lo || (m.hi ?? null) !== hi)
    fail(`group ${m.g} ${m.c}: min/max ${String(m.lo).slice(0, 20)}/${String(m.hi).slice(0, 20)}, want ${String(lo).slice(0, 20)}/${String(hi).slice(0, 20)}`);
  if (m.compression !== codec) fail(`group ${m.g} ${m.c}: ${m.compression}, want ${codec}`);
  const dict = String(m.encodings).includes('RLE_DICTIONARY');
  if (m.c === 'constant' && !dict) fail(`group ${m.g} constant: no dictionary (${m.encodings})`);
  if (m.c === 'wide' && dict) fail(`group ${m.g} wide: a dictionary past 1 MiB (${m.encodings})`);
}
const groups = new Set(meta.map((m) => m.g)).size;
if (groups !== Math.ceil(want.length / GROUP)) fail(`row groups: ${groups}`);
console.log(`${failures ? 'FAILED' : 'ok'}: ${want.length} rows, ${compared} values, ${meta.length} column chunks checked, ${failures} failures`);
process.exit(failures ? 1 : 0);
