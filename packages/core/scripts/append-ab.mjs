// A/B driver for the append path: one mode against one built copy of core (its dist directory), printing
// events/s, process CPU µs per event and the median group size. Invariant: setup is outside the timed part.
//
// Compare builds interleaved on a shared machine (A, B, A, B …) and read CPU µs/event before events/s:
//   cp -r dist node_modules/.ab/base   # before a change (inside node_modules so core's deps resolve)
//   node scripts/append-ab.mjs $PWD/node_modules/.ab/base append64 2500
// MODE: append1 | append64 | signed64 | encrypted64 | batchN (one writer, appendBatch of N, e.g. batch100: the
// bench's cell against SQLite's 100 INSERTs per transaction). SHM=1 puts the store on /dev/shm (fsync nearly
// free: the JS is the limit); EVENTS=n runs n events instead of a time box; CHECKPOINT=off opens the store with
// checkpoint 'off' (close() then writes none, so an instruction slope is the append path alone).
// Instructions per event: valgrind --tool=callgrind at EVENTS=n and 4n with WARM fixed (appends, i.e. calls: 20 for
// batch100), difference / 3n; a slope over fewer events swings with where the major GCs fall.
// SYNC_WRITE_MAX=n opens the store on new RealFs({ syncWriteMaxBytes: n }) (n bytes and below are written on the loop).
// BUSY_US=n spins n µs of CPU in each writer before each append (stands in for per-event caller work, e.g.
// sealing, to see how main-thread CPU stretches the awaited write and fsync times).
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { mkdtempSync, rmSync } from 'node:fs';

const [dist, mode = 'append64', msArg = '2000'] = process.argv.slice(2);
if (dist === undefined) throw new Error('usage: node scripts/append-ab.mjs DIST [MODE] [MS]');
const { Store, Coordinate, RealFs } = await import(`${dist}/index.js`);
const ms = Number(msArg);
const events = Number(process.env.EVENTS ?? 0);
const dir = mkdtempSync(process.env.SHM ? '/dev/shm/append-ab-' : `${process.env.TMPDIR ?? '/tmp'}/append-ab-`);
const flavour = mode.startsWith('signed') ? { signingKey: new Uint8Array(32).fill(7) } : mode.startsWith('encrypted') ? { payloadEncryption: {} } : {};
const store = await Store.open({ dir, ...flavour, ...(process.env.CHECKPOINT === 'off' ? { checkpoint: 'off' } : {}), ...(process.env.SYNC_WRITE_MAX ? { fs: new RealFs({ syncWriteMaxBytes: Number(process.env.SYNC_WRITE_MAX) }) } : {}) });
const payload = Buffer.alloc(256, 1);
const kind = { category: 1, typeId: 1 };
const coords = Array.from({ length: 256 }, (_, i) => new Coordinate(`writer-${i}`, 'bench'));
let writers = 64;
let per = 1;
const busyUs = Number(process.env.BUSY_US ?? 0);
const spin = () => {
  const until = performance.now() + busyUs / 1000;
  while (performance.now() < until);
};
let append = busyUs > 0 ? (w) => (spin(), store.appendRaw(coords[w], kind, payload)) : (w) => store.appendRaw(coords[w], kind, payload);
if (mode === 'append1') writers = 1;
if (mode.startsWith('batch')) {
  const n = Number(mode.slice(5));
  writers = 1;
  per = n;
  const items = coords.map((coord) => Array.from({ length: n }, () => ({ coord, kind, payload })));
  append = (w) => store.appendBatch(items[w]);
}
// WRITERS=n overrides the mode's writer count. GAP=1 makes each writer wait for a macrotask (setImmediate) after each
// receipt, as requests arriving on separate sockets would: no two writers' appends are submitted in one tick.
if (process.env.WRITERS) writers = Number(process.env.WRITERS);
const gap = process.env.GAP === '1' ? () => new Promise((resolve) => setImmediate(resolve)) : undefined;
const drive = async (more) => Promise.all(Array.from({ length: writers }, async (_, w) => { while (more()) { await append(w); if (gap) await gap(); } }));

// WARM=n warms up with n appends instead of 300 ms (fixed work, for instruction counts under valgrind).
const warm = Number(process.env.WARM ?? 0);
const warmEnd = performance.now() + 300;
let warmed = 0;
await drive(() => (warm > 0 ? warmed++ < warm : performance.now() < warmEnd));
let issued = 0;
const loop = monitorEventLoopDelay({ resolution: 1 });
loop.enable();
const c0 = process.cpuUsage();
const t0 = performance.now();
await drive(() => (events > 0 ? issued * per < events : performance.now() < t0 + ms) && ++issued > 0);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(c0);
loop.disable();
const done = issued * per;
const commits = store.stats().commits;
console.log(
  JSON.stringify({
    mode,
    rate: Math.round(done / seconds),
    cpuUsPerEvent: +((cpu.user + cpu.system) / done).toFixed(2),
    groupP50: commits.groupSize.p50,
    // Awaited write and fsync per group (ms, p50), and the event loop's delay (ms, p50/p99): how long a
    // ready completion can wait behind JavaScript.
    writeMsP50: commits.writeMs.p50,
    fsyncMsP50: commits.fsyncMs.p50,
    loopDelayMsP50: +(loop.percentile(50) / 1e6).toFixed(3),
    loopDelayMsP99: +(loop.percentile(99) / 1e6).toFixed(3),
  }),
);
await store.close();
rmSync(dir, { recursive: true, force: true });
