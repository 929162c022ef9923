#!/usr/bin/env node
// `pnpm mutation`: StrykerJS over core's chain, receipt, keyset, frame, compaction and envelope modules
// (stryker.config.mjs), incremental from stryker/incremental.json; prints the score per module and
// fails below 80 % on any of them (and in total).
//
//   pnpm mutation                      run Stryker (incremental), then report and enforce
//   pnpm mutation --report-only        report from stryker/incremental.json without running
//   pnpm mutation --survivors          also list every surviving mutant (for GAUNTLET.md)
//   --concurrency N                    test processes (default 1: the machine is shared; CI uses 2)
//   --budget-minutes M                 stop re-testing after M minutes and fail (the committed file is stale)
import { spawn } from 'node:child_process';
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
  ['envelope', 'packages/core/src/encoding/envelope.ts'],
];

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const concurrencyAt = argv.indexOf('--concurrency');
const concurrency = concurrencyAt === -1 ? '1' : argv[concurrencyAt + 1];

const budgetAt = argv.indexOf('--budget-minutes');
const budgetMs = budgetAt === -1 ? Infinity : Number(argv[budgetAt + 1]) * 60_000;

// The vitest runner counts a test file that fails to import (a package missing in Stryker's sandbox)
// as no tests rather than as a failure, and every mutant then "survives": refuse a dry run this small.
const MIN_DRY_RUN_TESTS = 100;
let dryRunTests;

/** Runs Stryker in its own process group; past the budget the whole group is stopped. */
function runStryker() {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'node_modules/@stryker-mutator/core/bin/stryker.js'), 'run'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, STRYKER_CONCURRENCY: concurrency },
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      // Progress lines are many; keep what Stryker says about incremental reuse, timing and errors.
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (/ncremental|Found \d+ of|Instrumented|Initial test run|Done in|\bERROR\b|\bWARN\b/.test(line)) console.log(line);
        const ran = /Initial test run succeeded\. Ran (\d+) tests/.exec(line);
        if (ran !== null) dryRunTests = Number(ran[1]);
      }
    });
    let overBudget = false;
    const timer = Number.isFinite(budgetMs)
      ? setTimeout(() => {
          overBudget = true;
          try {
            process.kill(-child.pid, 'SIGTERM');
          } catch {}
        }, budgetMs)
      : undefined;
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, overBudget });
    });
  });
}

if (!flag('--report-only')) {
  const started = Date.now();
  const { code, overBudget } = await runStryker();
  console.log(`mutation: stryker ran in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  if (dryRunTests !== undefined && dryRunTests < MIN_DRY_RUN_TESTS) {
    console.error(`mutation: the initial test run found only ${dryRunTests} tests (expected at least ${MIN_DRY_RUN_TESTS}): test files failed to load in Stryker's sandbox`);
    process.exit(1);
  }
  if (overBudget) {
    // Fail closed: gating on the committed results would let a change that lowers the score pass.
    // Whoever changed the mutated modules runs `pnpm mutation --concurrency 2` and commits the file.
    console.error(
      `mutation: re-testing exceeded the ${budgetMs / 60_000}-minute budget; run \`pnpm mutation --concurrency 2\` and commit stryker/incremental.json`,
    );
    process.exit(1);
  } else if (code !== 0) {
    console.error(`mutation: stryker exited with ${code}`);
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
