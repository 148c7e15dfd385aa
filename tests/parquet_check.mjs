// parquet_check.mjs: reads one of floe's Parquet files with DuckDB and checks it against the
// CSV floe wrote from the same table (written with --time-format unix), value by value, then
// the file's metadata: types, row groups, statistics, encodings, key-value metadata.
//
//   node tests/parquet_check.mjs --node-dir DIR --csv T.csv --parquet T.parquet
//        --rows-per-group N --codec ZSTD|UNCOMPRESSED [--kv key=value]...
//
// --node-dir is the npm prefix holding node_modules/@duckdb/node-api. Every failed check is
// printed; the exit code is 1 when any failed, 0 when all passed (a summary line says how many
// values and statistics were compared).
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const args = { kv: [] };
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  const value = process.argv[i + 1];
  if (value === undefined) throw new Error(`missing value for ${process.argv[i]}`);
  if (key === 'kv') args.kv.push(value);
  else args[key] = value;
}
for (const need of ['node-dir', 'csv', 'parquet', 'rows-per-group', 'codec'])
  if (!args[need]) throw new Error(`--${need} is required`);

const require = createRequire(resolve(args['node-dir']) + '/');
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
const str = (s) => `'${String(s).replaceAll("'", "''")}'`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;

let failures = 0;
const fail = (msg) => {
  failures++;
  if (failures <= 30) console.log(`FAIL ${msg}`);
};

// One thread, so row_number() over a scan follows the file's order.
await con.run('SET threads = 1');
const pq = str(args.parquet);
await con.run(`CREATE TABLE c AS SELECT row_number() OVER () AS rn__, *
               FROM read_csv(${str(args.csv)}, all_varchar = true, header = true)`);
await con.run(`CREATE TABLE p AS SELECT row_number() OVER () AS rn__, * FROM read_parquet(${pq})`);

// --- the schema: names in the CSV's order (plus the sketches), types by column ---
const csvCols = (await rows('DESCRIBE c')).map((r) => r.column_name).filter((n) => n !== 'rn__');
const pqDescribe = (await rows('DESCRIBE p')).filter((r) => r.column_name !== 'rn__');
const pqCols = pqDescribe.map((r) => r.column_name);
const pqType = Object.fromEntries(pqDescribe.map((r) => [r.column_name, r.column_type]));
const withoutSketches = pqCols.filter((n) => !n.endsWith('_sketch'));
if (JSON.stringify(withoutSketches) !== JSON.stringify(csvCols))
  fail(`columns: parquet ${JSON.stringify(pqCols)} vs csv ${JSON.stringify(csvCols)}`);

const TIMES = new Set(['window_start', 'first_seen', 'last_seen']);
const SMALL = new Set(['version', 'srcport', 'dstport', 'protocol', 'tcp_flags', 'traffic_path',
  'sublocation_id', 'pkt_src_aws_service', 'pkt_dst_aws_service']);
const BIG = new Set(['packets', 'bytes', 'sum_packets', 'sum_bytes', 'start', 'end', 'flows',
  'accepted', 'rejected']);
function expectedType(name) {
  if (TIMES.has(name)) return ['TIMESTAMP WITH TIME ZONE', 'TIMESTAMP_MICROS', 'TimestampType'];
  if (name.endsWith('_sketch')) return ['BLOB', null, null];
  if (name.startsWith('distinct_') || BIG.has(name)) return ['BIGINT', 'INT_64', 'IntType'];
  if (SMALL.has(name)) return ['INTEGER', 'INT_32', 'IntType'];
  return ['VARCHAR', 'UTF8', 'StringType'];
}
const schema = await rows(`SELECT name, converted_type, logical_type, repetition_type
                           FROM parquet_schema(${pq}) WHERE name <> 'schema'`);
for (const col of schema) {
  const [duck, converted, logical] = expectedType(col.name);
  if (pqType[col.name] !== duck) fail(`${col.name}: DuckDB type ${pqType[col.name]}, want ${duck}`);
  if ((col.converted_type ?? null) !== converted)
    fail(`${col.name}: converted type ${col.converted_type}, want ${converted}`);
  if (logical !== null && !String(col.logical_type ?? '').includes(logical))
    fail(`${col.name}: logical type ${col.logical_type}, want ${logical}`);
  if (logical === 'TimestampType' && !String(col.logical_type).includes('isAdjustedToUTC=1'))
    fail(`${col.name}: timestamp not adjusted to UTC: ${col.logical_type}`);
  if (logical === 'IntType') {
    // DuckDB shows the i8 bit width as a character (' ' is 32, '@' is 64) or as digits.
    const m = /bitWidth=(\d+|.), isSigned=(\d)/.exec(String(col.logical_type));
    const bits = m === null ? NaN : /^\d+$/.test(m[1]) ? Number(m[1]) : m[1].charCodeAt(0);
    const wantBits = duck === 'INTEGER' ? 32 : 64;
    if (bits !== wantBits || m[2] !== '1')
      fail(`${col.name}: integer annotation ${col.logical_type}, want ${wantBits} bits, signed`);
  }
}

// --- every value: the Parquet value rendered as floe's CSV renders it ---
const [{ n: csvRows }] = await rows('SELECT count(*)::INTEGER AS n FROM c');
const [{ n: pqRows }] = await rows('SELECT count(*)::INTEGER AS n FROM p');
if (csvRows !== pqRows) fail(`rows: parquet ${pqRows}, csv ${csvRows}`);
const rendered = (name) => TIMES.has(name)
  ? `CAST(epoch_us(p.${ident(name)}) // 1000000 AS VARCHAR)`
  : `CAST(p.${ident(name)} AS VARCHAR)`;
let compared = 0;
for (const name of csvCols) {
  if (!pqCols.includes(name)) continue;
  const [{ bad, example }] = await rows(`
    SELECT count(*)::INTEGER AS bad,
           min('row ' || c.rn__ || ': csv ' || coalesce(c.${ident(name)}, 'NULL') || ', parquet ' ||
               coalesce(${rendered(name)}, 'NULL')) AS example
    FROM c JOIN p USING (rn__) WHERE c.${ident(name)} IS DISTINCT FROM ${rendered(name)}`);
  if (bad > 0) fail(`${name}: ${bad} values differ, e.g. ${example}`);
  compared += csvRows;
}

// --- sketches: well-formed, and agreeing with the estimate beside them ---
for (const name of pqCols.filter((n) => n.endsWith('_sketch'))) {
  const est = ident(name.replace(/_sketch$/, ''));
  const s = ident(name);
  const [{ bad, kinds }] = await rows(`
    SELECT count(*) FILTER (WHERE NOT (
             substr(hex(${s}), 1, 2) = '01' AND (
               (substr(hex(${s}), 3, 2) = '00'
                  AND ('0x' || substr(hex(${s}), 5, 2))::INTEGER = ${est}
                  AND octet_length(${s}) = 3 + 8 * ${est})
               OR (substr(hex(${s}), 3, 4) = '010C' AND octet_length(${s}) = 3075
                   AND ${est} > 32))))::INTEGER AS bad,
           string_agg(DISTINCT substr(hex(${s}), 3, 2), ',' ORDER BY substr(hex(${s}), 3, 2)) AS kinds
    FROM p`);
  if (bad > 0) fail(`${name}: ${bad} sketches malformed or not matching ${est}`);
  console.log(`${name}: sketch kinds present ${kinds ?? '(none)'}`);
}

// --- row groups and statistics, against the values in each group's rows ---
const perGroup = Number(args['rows-per-group']);
const meta = await rows(`SELECT row_group_id::INTEGER AS g, row_group_num_rows::INTEGER AS n,
                                path_in_schema AS col, stats_min_value AS stats_min, stats_max_value AS stats_max,
                                stats_null_count::INTEGER AS nulls, compression, encodings
                         FROM parquet_metadata(${pq}) ORDER BY row_group_id, column_id`);
const groups = new Set(meta.map((m) => m.g));
const wantGroups = Math.ceil(pqRows / perGroup);
if (groups.size !== wantGroups) fail(`row groups: ${groups.size}, want ${wantGroups}`);
let statsChecked = 0;
for (const m of meta) {
  const first = m.g * perGroup + 1;
  const last = Math.min(pqRows, (m.g + 1) * perGroup);
  if (m.n !== last - first + 1) fail(`row group ${m.g}: ${m.n} rows, want ${last - first + 1}`);
  if (m.compression !== args.codec) fail(`row group ${m.g} ${m.col}: ${m.compression}`);
  const col = ident(m.col);
  const [actual] = await rows(`
    SELECT (count(*) - count(${col}))::INTEGER AS nulls,
           ${m.col.endsWith('_sketch') ? 'NULL' : `min(${col})::VARCHAR`} AS lo,
           ${m.col.endsWith('_sketch') ? 'NULL' : `max(${col})::VARCHAR`} AS hi
    FROM p WHERE rn__ BETWEEN ${first} AND ${last}`);
  if (m.nulls !== actual.nulls) fail(`row group ${m.g} ${m.col}: null count ${m.nulls}, want ${actual.nulls}`);
  if (!m.col.endsWith('_sketch') && (m.stats_min !== actual.lo || m.stats_max !== actual.hi))
    fail(`row group ${m.g} ${m.col}: min/max ${m.stats_min}/${m.stats_max}, want ${actual.lo}/${actual.hi}`);
  if (m.col.endsWith('_sketch') && (m.stats_min !== null || m.stats_max !== null))
    fail(`row group ${m.g} ${m.col}: sketches should carry no min/max`);
  if (m.col === 'action' && m.n >= 16 && !String(m.encodings).includes('RLE_DICTIONARY'))
    fail(`row group ${m.g} action: not dictionary-encoded (${m.encodings})`);
  statsChecked++;
}

// --- key-value metadata ---
const kv = Object.fromEntries((await rows(`SELECT decode(key) AS k, decode(value) AS v
                                           FROM parquet_kv_metadata(${pq})`)).map((r) => [r.k, r.v]));
for (const want of ['floe.version', 'floe.command', 'floe.window_seconds', 'floe.key', 'floe.input.records'])
  if (!(want in kv)) fail(`key-value metadata: no ${want}`);
for (const pair of args.kv) {
  const at = pair.indexOf('=');
  const [k, v] = [pair.slice(0, at), pair.slice(at + 1)];
  if (kv[k] !== v) fail(`key-value metadata ${k}: ${JSON.stringify(kv[k])}, want ${JSON.stringify(v)}`);
}
const [{ created_by: createdBy }] = await rows(`SELECT created_by FROM parquet_file_metadata(${pq})`);
if (!String(createdBy).startsWith('floe version ')) fail(`created_by: ${createdBy}`);

console.log(`${failures === 0 ? 'ok' : 'FAILED'}: ${pqRows} rows, ${pqCols.length} columns, ` +
  `${compared} values compared with the CSV, ${groups.size} row groups, ` +
  `${statsChecked} column chunk statistics checked, ${failures} failures`);
process.exit(failures === 0 ? 0 : 1);
