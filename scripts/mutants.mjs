// The mutants Stryker JSON reports say survived or were not covered, one line each, grouped by file,
// with each file's covered score and the score over all of them. Several reports (runs over different
// folders) are read as one; where two hold the same file, the later one counts.
//   node scripts/mutants.mjs REPORT.json [REPORT.json…] [--only path-substring] [--quiet]
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const quiet = args.includes('--quiet');
const reports = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--only');
if (reports.length === 0) { console.error('usage: node scripts/mutants.mjs REPORT.json [REPORT.json…] [--only path-substring] [--quiet]'); process.exit(2); }
const files = new Map();
for (const report of reports) for (const [file, f] of Object.entries(JSON.parse(readFileSync(report, 'utf8')).files)) files.set(file, f);
const DETECTED = new Set(['Killed', 'Timeout']);
let killed = 0, covered = 0, ignored = 0;
for (const [file, f] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
  if (only && !file.includes(only)) continue;
  const lines = f.source.split('\n');
  const live = f.mutants.filter((m) => m.status === 'Survived' || m.status === 'NoCoverage');
  const det = f.mutants.filter((m) => DETECTED.has(m.status)).length;
  const cov = f.mutants.filter((m) => DETECTED.has(m.status) || m.status === 'Survived').length;
  const ign = f.mutants.filter((m) => m.status === 'Ignored').length;
  killed += det; covered += cov; ignored += ign;
  console.log(`${file}: ${det}/${cov} covered detected (${cov ? (100 * det / cov).toFixed(1) : '–'}%), ${live.length} live${ign ? `, ${ign} ignored` : ''}`);
  if (quiet) continue;
  for (const m of live.sort((a, b) => a.location.start.line - b.location.start.line || a.location.start.column - b.location.start.column)) {
    const { line, column } = m.location.start;
    console.log(`  ${line}:${column} ${m.status === 'NoCoverage' ? '[no coverage] ' : ''}${m.mutatorName}: ${lines[line - 1].trim().slice(0, 80)}  ⇒  ${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60)}`);
  }
}
console.log(`covered score ${covered ? (100 * killed / covered).toFixed(1) : '–'}% (${killed}/${covered})${ignored ? `; ${ignored} ignored (marked equivalent in the source)` : ''}`);
