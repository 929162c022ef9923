// Measures how open, memory and random reads grow with the event count, against the built package
// (run `pnpm run build` first). Each measurement runs in a fresh child process so nothing is warm.
//
//   node packages/core/scripts/scale.mjs --events 1000000 [--dir /tmp/scale-1m] [--keep] [--gets 2000]
//
// Builds (or reuses, with an existing --dir) a store of N events: 64-byte payloads over 10k entities,
// appendBatch of 4096, sync 'none', then a fresh process opens it, reports open time, RSS, heap and
// ArrayBuffers after open, and the p50/p99 of `get` of random sampled ids with nothing cached.

import { fork } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const dist = new URL('../dist/index.js', import.meta.url);
const KIND = { category: 1, typeId: 1 };
const ENTITIES = 10_000;
const PAYLOAD_BYTES = 64;

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : process.argv[i + 1];
}

/** Writes the store; returns every 997th event id (the ids `get` samples), kept in a side file. */
async function build(dir, events) {
  const { Store, Coordinate } = await import(dist.href);
  const store = await Store.open({ dir, sync: 'none' });
  const coords = Array.from({ length: ENTITIES }, (_, i) => new Coordinate(`entity-${i}`, 'scale'));
  const template = Buffer.alloc(PAYLOAD_BYTES, 7);
  const sample = [];
  const t0 = performance.now();
  for (let start = 0; start < events; start += 4096) {
    const n = Math.min(4096, events - start);
    const items = new Array(n);
    for (let k = 0; k < n; k++) {
      const payload = Buffer.from(template);
      payload.writeUInt32LE(start + k, 0);
      items[k] = { coord: coords[(start + k) % ENTITIES], kind: KIND, payload };
    }
    const receipts = await store.appendBatch(items);
    for (let k = 0; k < n; k++) if ((start + k) % 997 === 0) sample.push(receipts[k].eventId);
  }
  await store.sync();
  await store.close();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'scale-sample.json'), JSON.stringify(sample));
  return (performance.now() - t0) / 1000;
}

/** Child: open, measure, `get` sampled ids in a shuffled order, report. */
async function measure(dir, gets) {
  const { readFileSync } = await import('node:fs');
  const sample = JSON.parse(readFileSync(join(dir, 'scale-sample.json'), 'utf8'));
  const { Store } = await import(dist.href);
  const t0 = performance.now();
  const store = await Store.open({ dir });
  const openSeconds = (performance.now() - t0) / 1000;
  globalThis.gc?.();
  const mem = process.memoryUsage();
  const lat = [];
  for (let i = 0; i < Math.min(gets, sample.length); i++) {
    const id = sample[(i * 7919) % sample.length];
    const s = performance.now();
    await store.get(id);
    lat.push((performance.now() - s) * 1000);
  }
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  const events = Number(store.stats().events);
  await store.close();
  return { events, openSeconds, rssMiB: mem.rss / 2 ** 20, heapMiB: mem.heapUsed / 2 ** 20, arrayBuffersMiB: mem.arrayBuffers / 2 ** 20, getP50Us: q(0.5), getP99Us: q(0.99) };
}

if (process.argv[2] === '--child') {
  process.send(await measure(process.argv[3], Number(process.argv[4])));
} else {
  const events = Number(arg('events', '1000000'));
  const gets = Number(arg('gets', '2000'));
  const given = arg('dir', undefined);
  const dir = given ?? mkdtempSync(join(tmpdir(), 'batpak-scale-'));
  let buildSeconds;
  if (!existsSync(join(dir, 'scale-sample.json'))) buildSeconds = await build(dir, events);
  const bytes = readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  const result = await new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), ['--child', dir, String(gets)], { execArgv: ['--expose-gc'] });
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`measuring child exited with ${code}`)));
  });
  const line = { ...result, buildSeconds, diskMiB: bytes / 2 ** 20 };
  for (const k of Object.keys(line)) if (typeof line[k] === 'number') line[k] = Math.round(line[k] * 100) / 100;
  console.log(JSON.stringify(line));
  if (given === undefined && !process.argv.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}
