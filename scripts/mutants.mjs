// The mutants a Stryker JSON report says survived or were not covered, one line each, grouped by file,
// with the file's score: node scripts/mutants.mjs bench/results/mutation.json [path-substring]
import { readFileSync } from 'node:fs';

const [report, only] = process.argv.slice(2);
if (!report) { console.error('usage: node scripts/mutants.mjs REPORT.json [path-substring]'); process.exit(2); }
const r = JSON.parse(readFileSync(report, 'utf8'));
const DETECTED = new Set(['Killed', 'Timeout']);
let killed = 0; let covered = 0;
for (const [file, f] of Object.entries(r.files)) {
  if (only && !file.includes(only)) continue;
  const lines = f.source.split('\n');
  const live = f.mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
  const det = f.mutants.filter((m) => DETECTED.has(m.status)).length;
  const cov = f.mutants.filter((m) => DETECTED.has(m.status) || m.status === 'Survived').length;
  killed += det; covered += cov;
  console.log(`${file}: ${det}/${cov} covered detected (${cov ? (100 * det / cov).toFixed(1) : '–'}%), ${live.length} live`);
  for (const m of live.sort((a, b) => a.location.start.line - b.location.start.line)) {
    const l = m.location.start.line;
    console.log(`  ${l} ${m.status === 'NoCoverage' ? '[no coverage] ' : ''}${m.mutatorName}: ${lines[l - 1].trim().slice(0, 80)}  ⇒  ${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60)}`);
  }
}
console.log(`covered score ${covered ? (100 * killed / covered).toFixed(1) : '–'}% (${killed}/${covered})`);
