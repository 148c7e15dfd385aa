// parquet_arrow_check.mjs: a second, independent Parquet reader over floe's files: arrow-rs,
// the Rust implementation (npm parquet-wasm), read into Arrow JS (npm apache-arrow). Every
// value must equal what floe wrote: the CSV of the same run (written with --time-format unix)
// for an analyze table, or the JSON Lines of tests/parquet_edge.c for the edge-case file.
//   node tests/parquet_arrow_check.mjs NODE_DIR FILE.parquet --csv T.csv
//   node tests/parquet_arrow_check.mjs NODE_DIR FILE.parquet --jsonl EDGE.jsonl
// Sketch columns (binary) are checked for their wire format's length against the estimate.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

const [nodeDir, parquet, mode, expected] = process.argv.slice(2);
const require = createRequire(resolve(nodeDir) + '/');
const { readParquet } = require('parquet-wasm');
const arrow = require('apache-arrow');

const table = arrow.tableFromIPC(readParquet(new Uint8Array(readFileSync(parquet))).intoIPCStream());
let failures = 0;
const fail = (msg) => { if (++failures <= 20) console.log(`FAIL ${msg}`); };

// A value as floe's CSV / the edge JSON spells it: timestamps in seconds, integers in decimal.
const spell = (field, v) => {
  if (v === null || v === undefined) return null;
  if (arrow.DataType.isTimestamp(field.type)) return String(Math.floor(Number(v) / 1000));
  if (typeof v === 'bigint' || typeof v === 'number') return String(v);
  return String(v);
};

// The CSV's rows, split on commas outside quotes ("" is a quote inside them).
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', quoted = false, wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') { quoted = true; wasQuoted = true; }
    else if (ch === ',') { row.push(cell === '' && !wasQuoted ? null : cell); cell = ''; wasQuoted = false; }
    else if (ch === '\n') { row.push(cell === '' && !wasQuoted ? null : cell); rows.push(row); row = []; cell = ''; wasQuoted = false; }
    else cell += ch;
  }
  return rows;
}

let want;
if (mode === '--csv') {
  const [head, ...body] = parseCsv(readFileSync(expected, 'utf8'));
  want = body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i]])));
} else {
  want = readFileSync(expected, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}
if (table.numRows !== want.length) fail(`rows: ${table.numRows}, want ${want.length}`);
let compared = 0;
const fields = table.schema.fields;
for (const field of fields) {
  const column = table.getChild(field.name);
  const sketch = field.name.endsWith('_sketch');
  const estimate = sketch ? table.getChild(field.name.replace(/_sketch$/, '')) : null;
  for (let i = 0; i < Math.min(table.numRows, want.length); i++) {
    const v = column.get(i);
    if (sketch) {
      const n = Number(estimate.get(i));
      if (!(v.length === 3 + 8 * n || (v.length === 3075 && n > 32)))
        fail(`row ${i} ${field.name}: ${v.length} bytes for an estimate of ${n}`);
    } else {
      if (!(field.name in want[i])) { fail(`${field.name}: not in the expected rows`); break; }
      const got = spell(field, v);
      if (got !== want[i][field.name]) {
        fail(`row ${i} ${field.name}: ${JSON.stringify(got)?.slice(0, 40)}, want ${JSON.stringify(want[i][field.name])?.slice(0, 40)}`);
      }
    }
    compared++;
  }
}
console.log(`${failures ? 'FAILED' : 'ok'}: arrow-rs read ${table.numRows} rows, ${fields.length} columns, ` +
  `${compared} values compared, ${failures} failures`);
process.exit(failures ? 1 : 0);
