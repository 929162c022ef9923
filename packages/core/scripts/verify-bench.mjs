// verifyChain throughput over an existing store, for A/B comparisons of two builds of core on a shared machine.
// Each timing runs in a fresh child process; `ab` alternates the builds (A, B, A, B …) so load drifts hit both alike.
//
//   node scripts/verify-bench.mjs build DIR EVENTS PAYLOAD_BYTES   make a store (appendBatch of 4096, EVENTS/100 entities)
//   node scripts/verify-bench.mjs once DIR [CORE_ENTRY]             one timed verifyChain, one JSON line
//   node scripts/verify-bench.mjs ab DIR ROUNDS ENTRY_A ENTRY_B     interleaved runs, medians and the B/A ratio
//
// CORE_ENTRY is a built core's index.js (default: this package's dist); the store is opened read-only. `once` reports
// the process's CPU and, on Linux, its main thread's (where verifyChain's in-order checks run; the rest is the hashing
// workers, the read threads and GC). CHRT=50 runs each `ab` child under `chrt -f 50` (the CPU the other tenants of a
// shared machine would take); PAYLOAD_BYTES (default 1024) converts events to MB/s.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';

const here = fileURLToPath(import.meta.url);
const defaultEntry = resolve(here, '../../dist/index.js');
const [what, dir, ...rest] = process.argv.slice(2);
if (what === undefined || dir === undefined) throw new Error('usage: verify-bench.mjs build|once|ab DIR …');

/** CPU seconds of this process's main thread so far (Linux: /proc; elsewhere NaN). */
function mainThreadCpu() {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const load = (entry) => import(pathToFileURL(resolve(entry)).href);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
};

if (what === 'build') {
  const [eventsArg, payloadArg] = rest;
  const events = Number(eventsArg);
  const payloadBytes = Number(payloadArg);
  const { Store, Coordinate } = await load(defaultEntry);
  const entities = Math.max(1, Math.floor(events / 100));
  const store = await Store.open({ dir, sync: 'none' });
  const coords = Array.from({ length: entities }, (_, i) => new Coordinate(`entity-${i}`, 'bench'));
  const template = Buffer.alloc(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) template[i] = (i * 31 + 17) & 0xff;
  for (let start = 0; start < events; start += 4096) {
    const n = Math.min(4096, events - start);
    const items = new Array(n);
    for (let k = 0; k < n; k++) {
      const payload = Buffer.from(template);
      payload.writeUInt32LE(start + k, 0);
      items[k] = { coord: coords[(start + k) % entities], kind: { category: 1, typeId: 1 }, payload };
    }
    await store.appendBatch(items);
  }
  await store.sync();
  await store.close();
  console.log(JSON.stringify({ built: dir, events, payloadBytes }));
} else if (what === 'once') {
  const { Store } = await load(rest[0] ?? defaultEntry);
  const store = await Store.open({ dir, readOnly: true });
  try {
    // VERIFY_PROFILE=file.cpuprofile profiles verifyChain alone (not the open before it).
    const profile = process.env.VERIFY_PROFILE;
    const session = profile === undefined ? undefined : new (await import('node:inspector')).Session();
    const post = (m, p) => new Promise((ok, no) => session.post(m, p, (e, r) => (e ? no(e) : ok(r))));
    if (session !== undefined) {
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.start');
    }
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const m0 = mainThreadCpu();
    const report = await store.verifyChain();
    const seconds = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    const main = mainThreadCpu() - m0;
    if (session !== undefined) {
      const { profile: data } = await post('Profiler.stop');
      (await import('node:fs')).writeFileSync(profile, JSON.stringify(data));
      session.disconnect();
    }
    const stats = store.stats();
    if (!report.intact) throw new Error(`not intact: ${JSON.stringify(report).slice(0, 400)}`);
    console.log(JSON.stringify({ events: report.eventsChecked, seconds, cpuSeconds: (c1.user + c1.system) / 1e6, mainCpuSeconds: main, diskBytes: Number(stats.bytes) }));
  } finally {
    await store.close();
  }
} else if (what === 'ab') {
  const [roundsArg, a, b] = rest;
  const rounds = Number(roundsArg);
  const payloadBytes = Number(process.env.PAYLOAD_BYTES ?? 1024);
  const runs = { A: [], B: [] };
  const cpu = { A: [], B: [] };
  const mainCpu = { A: [], B: [] };
  const chrt = process.env.CHRT === undefined ? [] : ['chrt', '-f', process.env.CHRT];
  const loads = [loadavg()[0]];
  for (let r = 0; r < rounds; r++) {
    for (const [name, entry] of r % 2 === 0 ? [['A', a], ['B', b]] : [['B', b], ['A', a]]) {
      const argv = [process.execPath, here, 'once', dir, entry];
      const c = spawnSync(chrt.length > 0 ? chrt[0] : argv[0], chrt.length > 0 ? [...chrt.slice(1), ...argv] : argv.slice(1), { encoding: 'utf8' });
      if (c.status !== 0) throw new Error(`${name} failed: ${c.stderr}`);
      const out = JSON.parse(c.stdout.trim().split('\n').pop());
      const mbps = (out.events * payloadBytes) / 1e6 / out.seconds;
      runs[name].push(mbps);
      cpu[name].push(out.cpuSeconds);
      mainCpu[name].push(out.mainCpuSeconds);
      console.log(`round ${r + 1} ${name}: ${out.seconds.toFixed(3)} s (cpu ${out.cpuSeconds.toFixed(3)} s, main thread ${out.mainCpuSeconds.toFixed(2)} s), ${mbps.toFixed(0)} MB/s of payload (load ${loadavg()[0].toFixed(2)})`);
    }
    loads.push(loadavg()[0]);
  }
  const mA = median(runs.A);
  const mB = median(runs.B);
  console.log(JSON.stringify({ medianA: Math.round(mA), medianB: Math.round(mB), ratio: +(mB / mA).toFixed(2), cpuA: +median(cpu.A).toFixed(3), cpuB: +median(cpu.B).toFixed(3), mainCpuA: +median(mainCpu.A).toFixed(2), mainCpuB: +median(mainCpu.B).toFixed(2), load1: loads.map((l) => +l.toFixed(2)) }));
} else {
  throw new Error(`unknown command ${what}`);
}
