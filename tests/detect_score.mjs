// detect_score.mjs: scores floe's findings against the generator's truth file.
//   node detect_score.mjs TRUTH.json FINDINGS.jsonl LABEL
// A finding is a true positive when a plant of the same type has the same actor (or lists it
// among its sources), shares a target with it, and overlaps it in time. Prints one row per
// finding type (plants, plants found, findings, true and false positives) and the totals, then
// the look-alikes (benign traffic shaped like attacks, --lookalikes) with the findings naming
// their host, and exits 1 unless recall and precision are both 100%.
import { readFileSync } from 'node:fs';

const [truthPath, findingsPath, label] = process.argv.slice(2);
const truth = JSON.parse(readFileSync(truthPath, 'utf8'));
const findings = readFileSync(findingsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const plants = truth.plants || [];
const t = (s) => Date.parse(s);

function matches(f, p) {
  if (f.finding_type !== p.type) return false;
  const actors = new Set([p.actor, ...(p.sources || [])]);
  if (!actors.has(f.actor)) return false;
  const ft = new Set(String(f.targets).split(' ').filter(Boolean));
  if (!(p.targets || []).some((x) => ft.has(x))) return false;
  // Beaconing's window is its first..last check-in; the others are aligned windows.
  return t(f.window_start) < t(p.window_end) + 1000 && t(f.window_end) > t(p.window_start) - 1000;
}

const types = [...new Set([...plants.map((p) => p.type), ...findings.map((f) => f.finding_type)])].sort();
const rows = [];
let allPlants = 0, allFound = 0, allFindings = 0, allTp = 0;
for (const type of types) {
  const ps = plants.filter((p) => p.type === type);
  const fs = findings.filter((f) => f.finding_type === type);
  const found = ps.filter((p) => fs.some((f) => matches(f, p))).length;
  const tp = fs.filter((f) => ps.some((p) => matches(f, p))).length;
  rows.push([type, ps.length, found, fs.length, tp, fs.length - tp]);
  allPlants += ps.length; allFound += found; allFindings += fs.length; allTp += tp;
}
const pct = (a, b) => (b === 0 ? '-' : `${((100 * a) / b).toFixed(1)}%`);
const head = ['finding type', 'plants', 'found', 'findings', 'true', 'false'];
const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(w[i]) : String(c).padStart(w[i]))).join('  ');
console.log(`${label}: recall ${pct(allFound, allPlants)} (${allFound}/${allPlants} plants), precision ${pct(allTp, allFindings)} (${allTp}/${allFindings} findings)`);
console.log('  ' + line(head));
for (const r of rows) console.log('  ' + line(r));
for (const l of truth.lookalikes || []) {
  const on = findings.filter((f) => f.actor === l.host || String(f.targets).split(' ').includes(l.host));
  console.log(`  look-alike ${l.kind} (${l.host_role} ${l.host}, ${l.peers} peers, ${l.records} records): ${on.length} findings`);
}
for (const f of findings)
  if (!plants.some((p) => matches(f, p))) console.log(`  not a plant: ${f.finding_type} ${f.actor} -> ${f.targets}: ${f.summary}`);
process.exit(allFound === allPlants && allTp === allFindings ? 0 : 1);
