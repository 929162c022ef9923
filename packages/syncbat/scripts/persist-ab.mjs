// A/B driver for the bench's persist dispatch (bench/src/scenarios/syncbat.mjs): one mode against built copies of
// syncbat (their dist directories), interleaved, printing dispatches/s and process CPU µs per dispatch.
// Invariant: setup is outside the timed part; every copy runs against the same @batpak/core (this worktree's).
//
//   cp -r dist node_modules/.ab/base   # before a change (inside node_modules so syncbat's deps resolve)
//   node scripts/persist-ab.mjs $PWD/node_modules/.ab/base,$PWD/dist persist64 2000 [ROUNDS]
// MODE: persist64 | persist1 | append64 | append1 (core appendRaw, the bench's denominator; DIST is then ignored) |
// floor64 | floor1 (each call one appendBatch of the two events a persist dispatch commits, the effect and a receipt of
// the same bytes: what the store alone costs per dispatch).
// HOOKS=1 enables an AsyncLocalStorage first (as syncbat's checkout scope does on the first dispatch): with floor*, what
// the store alone costs once every promise in the process pays the async hooks.
// SHM=1 puts the store on /dev/shm (fsync nearly free: the JS is the limit). EVENTS=n runs n dispatches instead of a
// time box, WARM=n warms up with n dispatches instead of 300 ms (fixed work, for instruction counts under valgrind:
// run at EVENTS=n and 4n, difference / 3n).
import { AsyncLocalStorage } from 'node:async_hooks';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';
import { Store, Coordinate, blake3, cbin, encodeCanonical } from '@batpak/core';
// The bench's own operation (repository-relative: this script runs from a checkout, like the bench).
import { PERSIST, PERSIST_INPUT, PERSIST_KIND, PERSIST_PAYLOAD, persistCore } from '../../../bench/src/persist-op.mjs';

if (process.env.HOOKS) new AsyncLocalStorage().run({}, () => undefined);

const [dists, mode = 'persist64', msArg = '2000', roundsArg = '1'] = process.argv.slice(2);
if (dists === undefined) throw new Error('usage: node scripts/persist-ab.mjs DIST[,DIST…] [MODE] [MS] [ROUNDS]');
const ms = Number(msArg);
const events = Number(process.env.EVENTS ?? 0);
const warm = Number(process.env.WARM ?? 0);
const writers = mode.endsWith('64') ? 64 : 1;

async function run(dist) {
  const dir = mkdtempSync(process.env.SHM ? '/dev/shm/persist-ab-' : `${process.env.TMPDIR ?? '/tmp'}/persist-ab-`);
  const store = await Store.open({ dir });
  try {
    let call;
    if (mode.startsWith('append')) {
      const coords = Array.from({ length: 64 }, (_, i) => new Coordinate(`writer-${i}`, 'bench'));
      call = (w) => store.appendRaw(coords[w], PERSIST_KIND, PERSIST_PAYLOAD);
    } else if (mode.startsWith('floor')) {
      const sb = await import(`${dist}/index.js`);
      const h = blake3(PERSIST_INPUT);
      const effects = sb.encodeInvocationEffects({ performed: sb.EffectRow.fromLists({ appendsEvents: ['evt.1001'] }), refused: sb.EffectRow.empty() });
      const receipt = sb.encodeReceiptEnvelope({ descriptorName: PERSIST, receiptKind: PERSIST, inputHash: h, outputHash: h, outcome: { class: 'completed' }, signedExtensions: new Map([[sb.SYNCBAT_EFFECTS_KEY, effects]]), localExtensions: new Map() });
      const items = [
        { coord: new Coordinate('bench:orders', 'bench'), kind: PERSIST_KIND, payload: encodeCanonical(cbin(PERSIST_PAYLOAD)) },
        { coord: new Coordinate('bench:receipts', 'bench'), kind: sb.SYNCBAT_RECEIPT_KIND, payload: receipt },
      ];
      call = () => store.appendBatch(items);
    } else {
      const core = persistCore(await import(`${dist}/index.js`), Coordinate, store);
      call = () => core.dispatch(PERSIST, PERSIST_INPUT);
    }
    const drive = (more) => Promise.all(Array.from({ length: writers }, async (_, w) => { while (more()) await call(w); }));
    const warmEnd = performance.now() + 300;
    let warmed = 0;
    await drive(() => (warm > 0 ? warmed++ < warm : performance.now() < warmEnd));
    let done = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await drive(() => (events > 0 ? done < events : performance.now() < t0 + ms) && ++done > 0);
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(c0);
    return { rate: Math.round(done / seconds), cpuUs: +((cpu.user + cpu.system) / done).toFixed(2) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const list = dists.split(',');
for (let round = 0; round < Number(roundsArg); round++) {
  // Rotated each round so no copy always runs first.
  for (let i = 0; i < list.length; i++) {
    const dist = list[(i + round) % list.length];
    const r = await run(dist);
    console.log(JSON.stringify({ mode, dist: dist.split('/').slice(-2).join('/'), round, ...r }));
  }
}
