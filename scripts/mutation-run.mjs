#!/usr/bin/env node
// `pnpm mutation`: StrykerJS over core's chain, receipt, keyset, frame and compaction modules
// (stryker.config.mjs), incremental from stryker/incremental.json; prints the score per module and
// fails below 80 % on any of them (and in total).
//
//   pnpm mutation                      run Stryker (incremental), then report and enforce
//   pnpm mutation --report-only        report from stryker/incremental.json without running
//   pnpm mutation --survivors          also list every surviving mutant (for GAUNTLET.md)
//   --concurrency N                    test processes (default 1: the machine is shared; CI uses 2)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const INCREMENTAL = join(root, 'stryker/incremental.json');
const THRESHOLD = 80;
const MODULES = [
  ['chain', 'packages/core/src/chain/'],
  ['receipt', 'packages/core/src/receipt/'],
  ['keyset', 'packages/core/src/keyset/'],
  ['frame', 'packages/core/src/segment/frame.ts'],
  ['compaction', 'packages/core/src/compaction/'],
];

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const concurrencyAt = argv.indexOf('--concurrency');
const concurrency = concurrencyAt === -1 ? '1' : argv[concurrencyAt + 1];

if (!flag('--report-only')) {
  const started = Date.now();
  const run = spawnSync(process.execPath, [join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, STRYKER_CONCURRENCY: concurrency },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  // Progress lines are many; keep the summary lines Stryker prints about incremental reuse and timing.
  for (const line of (run.stdout ?? '').split('\n')) {
    if (/Incremental|incremental|Found \d+ of|Instrumented|Initial test run|Done in|mutant\(s\)|ERROR|WARN/.test(line)) console.log(line);
  }
  console.log(`mutation: stryker ran in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (run.status !== 0) {
    console.error(`mutation: stryker exited with ${run.status}`);
    process.exit(1);
  }
}

if (!existsSync(INCREMENTAL)) {
  console.error(`mutation: ${INCREMENTAL} is missing; run pnpm mutation first`);
  process.exit(1);
}
const report = JSON.parse(readFileSync(INCREMENTAL, 'utf8'));
// Stryker's mutation score: detected (killed, timed out) over valid mutants (detected + survived + no coverage).
const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);
const rows = [];
const survivors = [];
let failed = false;
for (const [name, prefix] of MODULES) {
  let detected = 0;
  let undetected = 0;
  let ignored = 0;
  for (const [file, result] of Object.entries(report.files)) {
    if (!file.startsWith(prefix)) continue;
    for (const m of result.mutants) {
      if (DETECTED.has(m.status)) detected++;
      else if (UNDETECTED.has(m.status)) {
        undetected++;
        survivors.push(`${file}:${m.location.start.line}:${m.location.start.column} ${m.mutatorName} ${m.status}: ${JSON.stringify(m.replacement ?? '')}`);
      } else ignored++;
    }
  }
  const total = detected + undetected;
  const score = total === 0 ? 100 : (100 * detected) / total;
  if (score < THRESHOLD) failed = true;
  rows.push({ name, score, detected, undetected, ignored });
}
const all = rows.reduce((a, r) => ({ detected: a.detected + r.detected, undetected: a.undetected + r.undetected }), { detected: 0, undetected: 0 });
const totalScore = (100 * all.detected) / Math.max(1, all.detected + all.undetected);
if (totalScore < THRESHOLD) failed = true;
console.log(
  `mutation: score ${totalScore.toFixed(2)}% (${all.detected} of ${all.detected + all.undetected} mutants detected; ` +
    rows.map((r) => `${r.name} ${r.score.toFixed(2)}% ${r.detected}/${r.detected + r.undetected}`).join(', ') +
    `), threshold ${THRESHOLD}%`,
);
if (flag('--survivors')) for (const s of survivors) console.log(`  survived ${s}`);
if (failed) {
  console.error(`mutation: below ${THRESHOLD}% on ${rows.filter((r) => r.score < THRESHOLD).map((r) => r.name).join(', ') || 'the total'}`);
  process.exit(1);
}
