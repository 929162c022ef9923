#!/usr/bin/env node
// `pnpm sim`: the gauntlet simulation at any size — seeded mixed workloads over SimFs with crashes and
// every fault kind (packages/core/test/sim/gauntlet-oracle.ts), split into vitest chunks, one summary line.
//
//   pnpm sim --seeds 2000 --from 1 [--jobs 2]   CI size        pnpm sim --nightly   50,000 seeds
//   pnpm sim --seed 1234                        replay one seed with its step log
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const TEST = 'packages/core/test/gauntlet.sim.test.ts';
// The projection oracle (shred-safe states, honest snapshots) runs over the same seeds after the gauntlet.
const PROJECTION_TEST = 'packages/core/test/projection.sim.test.ts';
const MAX_CHUNK = 2500;

function parseArgs(argv) {
  const out = { seeds: 2000, from: 1, jobs: 1, seed: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isSafeInteger(v) || v < 0) throw new Error(`${a} needs a non-negative integer`);
      return v;
    };
    if (a === '--seeds') out.seeds = value();
    else if (a === '--from') out.from = value();
    else if (a === '--jobs') out.jobs = Math.max(1, value());
    else if (a === '--seed') out.seed = value();
    else if (a === '--nightly') out.seeds = 50_000;
    else if (a === '--') continue;
    else throw new Error(`unknown argument ${a} (use --seeds N --from S --jobs J --seed N --nightly)`);
  }
  return out;
}

/** Runs one vitest process over a seed range; resolves with its exit code and output. */
function runChunk(env, inherit, test = TEST) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'core', test], {
      cwd: root,
      env: { ...process.env, ...env, FORCE_COLOR: '0' },
      stdio: inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (d) => (output += d));
    child.stderr?.on('data', (d) => (output += d));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const args = parseArgs(process.argv.slice(2));

if (args.seed !== undefined) {
  const { code } = await runChunk({ BATPAK_GAUNTLET_SEED: String(args.seed) }, true);
  process.exit(code);
}

const started = Date.now();
const dir = mkdtempSync(join(tmpdir(), 'batpak-sim-'));
const chunks = [];
const chunk = Math.max(1, Math.min(MAX_CHUNK, Math.ceil(args.seeds / args.jobs)));
for (let from = args.from; from < args.from + args.seeds; from += chunk) chunks.push({ from, seeds: Math.min(chunk, args.from + args.seeds - from) });
const summaries = [];
const failedChunks = [];
let next = 0;
const worker = async () => {
  while (next < chunks.length) {
    const c = chunks[next++];
    const file = join(dir, `summary-${c.from}.json`);
    const { code, output } = await runChunk({ BATPAK_GAUNTLET_SEEDS: String(c.seeds), BATPAK_GAUNTLET_FROM: String(c.from), BATPAK_GAUNTLET_SUMMARY: file }, false);
    let summary;
    try {
      summary = JSON.parse(readFileSync(file, 'utf8'));
      summaries.push(summary);
    } catch {
      summary = undefined;
    }
    if (code !== 0 || summary === undefined || summary.failed.length > 0) {
      failedChunks.push(c);
      // Only the oracle's own verdicts (seed, reason, replay) — the rest of vitest's report is noise here.
      const lines = output.split('\n').filter((l) => /gauntlet failed for seed|replay: pnpm sim|threw outside the oracle|Error/.test(l));
      console.log(`sim: seeds ${c.from}..${c.from + c.seeds - 1} failed:\n${(lines.length > 0 ? lines : output.split('\n').slice(-40)).join('\n')}`);
    }
  }
};
await Promise.all(Array.from({ length: Math.min(args.jobs, chunks.length) }, worker));
rmSync(dir, { recursive: true, force: true });

const add = (k) => summaries.reduce((a, s) => a + (s[k] ?? 0), 0);
const merge = (k) => {
  const out = {};
  for (const s of summaries) for (const [name, n] of Object.entries(s[k] ?? {})) out[name] = (out[name] ?? 0) + n;
  return Object.entries(out)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
};
const failedSeeds = summaries.flatMap((s) => s.failed);
const seconds = ((Date.now() - started) / 1000).toFixed(0);
console.log(
  `sim: ${add('seeds')} seeds (from ${args.from}), ${add('crashes')} crashes, ${add('kills')} kills, ${add('reopens')} clean reopens, ` +
    `${add('faults')} faults (${merge('faultKinds')}; by op: ${merge('faultOps')}), ${add('refusals')} typed refusals, ` +
    `${add('typedErrors')} typed operation errors, ${add('acked')} acknowledged ops, ${add('compactionsPerformed')} of ${add('compactions')} compactions performed, ` +
    `${add('compactedAway')} events compacted away, ${add('shreds')} shreds, ${add('reads')} reads, ${add('verifies')} live verifyChain, ` +
    `${add('indexFilesDamaged')} index files damaged before a reopen, ` +
    `delivery: ${add('deliveryCrashes')} crashes, ${add('reactions')} reactions, ${add('consumerAcks')} consumer acks, ` +
    `${failedSeeds.length} failed, in ${seconds} s`,
);

// Projection snapshots under crashes: its own oracle and workload, the same seed range, one process.
const projection = await runChunk({ BATPAK_PROJECTION_SIM_SEEDS: String(args.seeds), BATPAK_SIM_FROM: String(args.from) }, false, PROJECTION_TEST);
const projectionLine = projection.output.replace(/\x1b\[[0-9;]*m/g, '').split('\n').map((l) => l.slice(l.indexOf('projection oracle:'))).find((l) => l.startsWith('projection oracle:'));
console.log(`sim: ${projectionLine ?? 'projection oracle: no summary'}${projection.code === 0 ? '' : ' — FAILED'}`);
if (projection.code !== 0) {
  const lines = projection.output.split('\n').filter((l) => /seed|Error|expected/.test(l)).slice(0, 40);
  console.log(lines.join('\n'));
  console.log('sim: projection oracle FAILED; replay one seed with BATPAK_PROJECTION_SIM_SEED=N npx vitest run --project core ' + PROJECTION_TEST);
  process.exit(1);
}
if (failedChunks.length > 0) {
  console.log(`sim: FAILED seeds ${failedSeeds.join(', ') || '(see above)'}; replay one with: pnpm sim --seed N`);
  process.exit(1);
}
