// duckdb_query.mjs: the DuckDB side of bench/compare.sh. Runs one of floe's benchmark queries
// with DuckDB's node client over a tree of flow-log files (read_csv over a glob, explicit
// column types, gzip or zstd by file extension) and writes the result with COPY ... TO a CSV
// file, so the result is materialized like floe's -o OUT.csv.
//
//   node bench/duckdb_query.mjs --node-dir DIR --query q1|q2 --input TREE --out OUT.csv
//        [--threads N] [--ext log.gz]
//
//   --node-dir  the npm prefix that holds node_modules/@duckdb/node-api
//               (npm install --prefix DIR @duckdb/node-api)
//   q1          high-cardinality group-by: 1-minute window (start - start % 60), srcaddr,
//               dstaddr, dstport, protocol, action -> flows, packets, bytes, accepted,
//               rejected, first_seen, last_seen: floe's columns, times as ISO-8601 like
//               floe's default --time-format iso, so the two CSV files can be compared
//   q1-brief    the same group-by with only flows, packets, bytes (window as an integer)
//   q2          top 10 srcaddr by sum(bytes)
//
// Prints one JSON line on stdout: {"query","rows","seconds"} (seconds = the query alone,
// without node start-up and module load; bench/compare.sh times the whole process).
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import os from 'node:os';

function parseArgs(argv) {
  const opts = { threads: String(os.availableParallelism?.() ?? os.cpus().length), ext: 'log.gz' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
    if (argv[i + 1] === undefined) throw new Error(`missing value for ${argv[i]}`);
    opts[key] = argv[i + 1];
  }
  for (const need of ['nodeDir', 'query', 'input', 'out']) {
    if (!opts[need]) throw new Error(`--${need.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required`);
  }
  if (!['q1', 'q1-brief', 'q2'].includes(opts.query)) throw new Error(`unknown query ${opts.query}`);
  return opts;
}

const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;

const COLUMNS = `{
  'version': 'INTEGER', 'account_id': 'VARCHAR', 'interface_id': 'VARCHAR',
  'srcaddr': 'VARCHAR', 'dstaddr': 'VARCHAR', 'srcport': 'INTEGER', 'dstport': 'INTEGER',
  'protocol': 'INTEGER', 'packets': 'BIGINT', 'bytes': 'BIGINT', 'start': 'BIGINT',
  'end': 'BIGINT', 'action': 'VARCHAR', 'log_status': 'VARCHAR'}`;

function source(opts) {
  const glob = join(resolve(opts.input), '**', `*.${opts.ext}`);
  return `read_csv(${sqlString(glob)}, columns = ${COLUMNS}, delim = ' ', header = true,
                   nullstr = '-', auto_detect = false)`;
}

function querySql(opts) {
  const src = source(opts);
  if (opts.query === 'q1') {
    return `
      SELECT strftime(make_timestamp(w * 1000000), '%Y-%m-%dT%H:%M:%SZ') AS window_start,
             srcaddr, dstaddr, dstport, protocol, action,
             flows, packets, bytes, accepted, rejected,
             strftime(make_timestamp(first_seen * 1000000), '%Y-%m-%dT%H:%M:%SZ') AS first_seen,
             strftime(make_timestamp(last_seen * 1000000), '%Y-%m-%dT%H:%M:%SZ') AS last_seen
      FROM (SELECT start - start % 60 AS w, srcaddr, dstaddr, dstport, protocol, action,
                   count(*) AS flows, coalesce(sum(packets), 0) AS packets,
                   coalesce(sum(bytes), 0) AS bytes,
                   count(*) FILTER (WHERE action = 'ACCEPT') AS accepted,
                   count(*) FILTER (WHERE action = 'REJECT') AS rejected,
                   min(start) AS first_seen, max("end") AS last_seen
            FROM ${src}
            GROUP BY ALL)`;
  }
  if (opts.query === 'q1-brief') {
    return `
      SELECT start - start % 60 AS window_start, srcaddr, dstaddr, dstport, protocol, action,
             count(*) AS flows, sum(packets) AS packets, sum(bytes) AS bytes
      FROM ${src}
      GROUP BY ALL`;
  }
  return `
    SELECT srcaddr, sum(bytes) AS bytes
    FROM ${src}
    GROUP BY srcaddr
    ORDER BY bytes DESC NULLS LAST, srcaddr
    LIMIT 10`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const require = createRequire(join(resolve(opts.nodeDir), 'package.json'));
  const { DuckDBInstance } = require('@duckdb/node-api');
  const instance = await DuckDBInstance.create(':memory:', { threads: opts.threads });
  const connection = await instance.connect();
  const t0 = process.hrtime.bigint();
  const result = await connection.runAndReadAll(
    `COPY (${querySql(opts)}) TO ${sqlString(resolve(opts.out))} (FORMAT csv, HEADER true)`);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  // COPY returns one row with the number of rows written.
  const rows = Number(result.getRows()[0][0]);
  connection.closeSync();
  instance.closeSync?.();
  process.stdout.write(JSON.stringify({ query: opts.query, rows, seconds }) + '\n');
}

main().catch((err) => {
  process.stderr.write(`duckdb_query.mjs: ${err.message}\n`);
  process.exit(1);
});
