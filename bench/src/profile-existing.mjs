// Profiling helper over an existing store directory: `build DIR N` makes it once (1 KiB events), then
// `open DIR` / `verify DIR` time only that path, so `node --cpu-prof` shows nothing else.
import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';
import { buildStore } from './scenarios/store-build.mjs';

const [what, dir, nArg = '200000'] = process.argv.slice(2);
if (what === undefined || dir === undefined) throw new Error('usage: profile-existing.mjs build|open|verify DIR [N]');
const t = () => performance.now();
if (what === 'build') {
  const n = Number(nArg);
  await buildStore(dir, { events: n, payloadBytes: 1024, entities: Math.max(1, n / 100) });
  console.log(`built ${n} events in ${dir}`);
} else {
  const t1 = t();
  const store = await Store.open({ dir, readOnly: what === 'verify' });
  console.log(`open: ${((t() - t1) / 1000).toFixed(3)} s`);
  if (what === 'verify') {
    const t2 = t();
    const rep = await store.verifyChain();
    const s = (t() - t2) / 1000;
    console.log(`verifyChain: ${s.toFixed(3)} s, ${((rep.eventsChecked * 1024) / s / 1e6).toFixed(0)} MB/s of payload, intact ${rep.intact}`);
  }
  await store.close();
}
