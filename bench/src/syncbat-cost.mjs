// One process, one cell of the syncbat scenario (bench/src/scenarios/syncbat.mjs): 64 (or 1) persist dispatches or core
// appendRaw calls, printing rate and CPU µs per call. Invariant: the timed window starts after 200 warm-up calls.
//
// For instructions per dispatch that do not move with the machine's load, run it under callgrind on SimFs with
// V8's deterministic mode (two runs of one build differ by a few instructions in all), at two counts, and take the slope:
//   BATPAK_BENCH_SIMFS=1 valgrind --tool=callgrind node --predictable bench/src/syncbat-cost.mjs <repo> 64 N:1500
// Usage: node bench/src/syncbat-cost.mjs <repo root with built packages> <writers> <ms | N:calls> [persist|append]

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';

const [rootArg = '.', writersArg = '64', spec = '3000', mode = 'persist'] = process.argv.slice(2);
const root = resolve(rootArg);
const { Store, Coordinate } = await import(join(root, 'packages/core/dist/index.js'));
const { CoreBuilder, StoreEffectBackend, StoreReceiptSink, defineOperation } = await import(join(root, 'packages/syncbat/dist/index.js'));

const KIND = { category: 1, typeId: 1 };
const PAYLOAD = new Uint8Array(200).map((_, i) => (i * 131 + 7) & 0xff);
const INPUT = new Uint8Array(16).fill(3);

const dir = mkdtempSync(join(tmpdir(), 'syncbat-cost-'));
let fs;
if (process.env.BATPAK_BENCH_SIMFS === '1') fs = new (await import(join(root, 'packages/core/dist/testing.js'))).SimFs({ seed: 1 });
const store = await Store.open(fs === undefined ? { dir } : { dir: '/sim/store', fs });
const core = new CoreBuilder()
  .register(
    defineOperation({
      name: 'bench.persist',
      effectClass: 'persist',
      effects: { appends: ['evt.1001'] },
      handler: async (input, ctx) => {
        await ctx.appendEvent(KIND, PAYLOAD);
        return input;
      },
    }),
  )
  .effectBackend(new StoreEffectBackend(store, new Coordinate('bench:orders', 'bench')))
  .receiptSink(new StoreReceiptSink(store, new Coordinate('bench:receipts', 'bench')))
  .build();
const coords = Array.from({ length: 64 }, (_, i) => new Coordinate(`writer-${i}`, 'bench'));
const call = mode === 'append' ? (w) => store.appendRaw(coords[w], KIND, PAYLOAD) : () => core.dispatch('bench.persist', INPUT);

const writers = Number(writersArg);
const total = spec.startsWith('N:') ? Number(spec.slice(2)) : Infinity;
for (let i = 0; i < 200; i++) await call(i % 64);
let calls = 0;
const deadline = performance.now() + (total === Infinity ? Number(spec) : 1e12);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const loop = async (w) => {
  while (performance.now() < deadline && calls < total) {
    calls++;
    await call(w);
  }
};
await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ mode, writers, calls, rate: Math.round(calls / seconds), cpuMicrosPerCall: +((cpu.user + cpu.system) / calls).toFixed(1) }));
await store.close();
rmSync(dir, { recursive: true, force: true });
