// Profiling helper: runs one core hot path alone so `node --cpu-prof` attributes its time to core's functions.
// Invariant: a store the mode needs is built first, outside the part worth reading (it shows up as buildStore frames).

// Usage: node --cpu-prof --cpu-prof-dir=/tmp/prof bench/src/profile.mjs MODE N, with MODE append64|signed64|encrypted64|batch100
// (N = milliseconds) or open|verify|scan|get (N = events in the store it builds first).
import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';
import { buildStore } from './scenarios/store-build.mjs';
import { openSingle, openBatch100 } from './batpak.mjs';
import { driveWriters } from './harness.mjs';
import { freshDir, removeAll } from './tmp.mjs';

const [what = 'open', nArg = '100000'] = process.argv.slice(2);
const n = Number(nArg);
const t = () => performance.now();

if (what === 'batch100') {
  // One writer, appendBatch of 100 durable events per call: the batch path alone (n = milliseconds).
  const h = await openBatch100(freshDir(what), Buffer.alloc(256, 1), 'unsigned');
  const r = await driveWriters(h, 1, n);
  console.log(`${what}: ${Math.round(r.rate)} events/s over ${n} ms`);
  await h.close();
} else if (what === 'append64' || what === 'signed64' || what === 'encrypted64') {
  const flavour = { append64: 'unsigned', signed64: 'signed', encrypted64: 'encrypted' }[what];
  const h = await openSingle(freshDir(what), Buffer.alloc(256, 1), flavour);
  const r = await driveWriters(h, 64, n);
  console.log(`${what}: ${Math.round(r.rate)} events/s over ${n} ms`);
  await h.close();
} else {
  const dir = freshDir('profile');
  const t0 = t();
  const built = await buildStore(dir, { events: n, payloadBytes: 1024, entities: Math.max(1, n / 100) });
  console.log(`build: ${Math.round(n / ((t() - t0) / 1000))} events/s`);
  if (what === 'open' || what === 'verify' || what === 'scan' || what === 'get') {
    const t1 = t();
    const store = await Store.open({ dir });
    console.log(`open: ${((t() - t1) / 1000).toFixed(2)} s`);
    if (what === 'verify') {
      const t2 = t();
      const rep = await store.verifyChain();
      const s = (t() - t2) / 1000;
      console.log(`verifyChain: ${s.toFixed(2)} s, ${((n * 1024) / 1e6 / s).toFixed(0)} MB/s, intact ${rep.intact}`);
    }
    if (what === 'scan') {
      const t2 = t();
      let k = 0;
      for await (const _ of store.query({})) k++;
      console.log(`scan: ${Math.round(k / ((t() - t2) / 1000))} events/s`);
    }
    if (what === 'get') {
      const t2 = t();
      for (const id of built.sampleIds) await store.get(id);
      console.log(`get: ${Math.round(built.sampleIds.length / ((t() - t2) / 1000))} gets/s`);
    }
    await store.close();
  }
}
removeAll();
