// Scenario 10 (issue 19): a store of 1M, 4M and 10M events (64 B payloads over 10k entities), each opened in a
// fresh Node process: open time, memory after open, resident bytes per event, cold random gets, entity queries, a scan.
// Invariant: one store is grown through the sizes (built once per run, in a child, removed after); a size whose
// growth would not leave the disk reserve free is skipped with a note, never written until the disk fills.

import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, statfsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../stats.mjs';
import { freshDir, removeDir } from '../tmp.mjs';

const CHILD = fileURLToPath(new URL('../scale-child.mjs', import.meta.url));
const MiB = 2 ** 20;
const GiB = 2 ** 30;
/** Free space left untouched for the machine's other tenants, whatever the run needs. */
const DISK_RESERVE_BYTES = 4 * GiB;
/** Bytes per 64 B event on disk (segments + checkpoint) before the first size is built: today's ~400, with room. */
const PRIOR_DISK_BYTES_PER_EVENT = 600;

/**
 * The builder's heap limit (MiB): half the machine's memory, at most 16 GiB. The builder is tooling, not a measured
 * figure, and with an index held whole in memory it cannot reach 10M events under Node's default ~4 GiB heap
 * (measured: it aborted at the limit between 4M and 10M). The measuring processes keep Node's defaults, as a service would.
 */
const BUILD_HEAP_MiB = Math.min(16384, Math.floor(totalmem() / MiB / 2));

function runChild(args) {
  const flags = args[0] === 'build' ? [`--max-old-space-size=${BUILD_HEAP_MiB}`] : [];
  const r = spawnSync(process.execPath, [...flags, CHILD, ...args.map(String)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const why = (r.stderr || '').trim().split('\n').filter((l) => l.trim() !== '').slice(-3).join(' ');
    throw new Error(`scale child ${args[0]} failed (status ${r.status}${r.signal ? `, ${r.signal}` : ''}): ${why}`);
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** Allocated bytes of every file under `dir` (what the store takes from the disk, index files included). */
function diskUsage(dir) {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? diskUsage(p) : statSync(p).blocks * 512;
  }
  return total;
}

function freeBytes(dir) {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}

/** `--scale-sizes=1e6,4e6` (taken as given, also under --quick), else the configured sizes; ascending, distinct. */
export function scaleSizes(cfg, argv) {
  const arg = argv.find((a) => a.startsWith('--scale-sizes='));
  if (arg === undefined) return cfg.scaleSizes;
  const sizes = arg.slice('--scale-sizes='.length).split(',').map((text) => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new Error(`--scale-sizes: '${text}' is not a positive whole number of events (e.g. --scale-sizes=1e6,4e6)`);
    return n;
  });
  return [...new Set(sizes)].sort((a, b) => a - b);
}

const ms = (s) => s * 1000; // latencySummary works in ms; the results speak µs for gets, ms for queries

/** `cfg.scaleOpens` fresh processes open the store of `events` events and read from it; medians of their figures. */
function measureSize(cfg, dir, idsFile, events, entities, emptyRssMiB, log) {
  const opens = [];
  for (let i = 0; i < cfg.scaleOpens; i++) {
    const m = runChild(['measure', dir, events, idsFile, cfg.scaleGets, cfg.scaleQueries, Math.min(cfg.scanEvents, events), entities]);
    opens.push(m);
    log(
      `      process ${i + 1}: open ${m.openSeconds.toFixed(2)} s, RSS ${m.rssMiB.toFixed(0)} MiB (heap ${m.heapUsedMiB.toFixed(0)}, ArrayBuffers ${m.arrayBuffersMiB.toFixed(0)}); ` +
        `get p50 ${ms(m.get.p50).toFixed(0)} µs p99 ${ms(m.get.p99).toFixed(0)} µs; query(100) p50 ${m.query.p50.toFixed(2)} ms p99 ${m.query.p99.toFixed(2)} ms; scan ${Math.round(m.scan.eventsPerSecond).toLocaleString('en-US')} events/s`,
    );
  }
  const med = (f) => median(opens.map(f));
  const rssMiB = med((m) => m.rssMiB);
  return {
    events,
    openSeconds: med((m) => m.openSeconds),
    rssMiB,
    heapUsedMiB: med((m) => m.heapUsedMiB),
    arrayBuffersMiB: med((m) => m.arrayBuffersMiB),
    indexBytesPerEvent: ((rssMiB - emptyRssMiB) * MiB) / events,
    getP50Us: med((m) => ms(m.get.p50)),
    getP99Us: med((m) => ms(m.get.p99)),
    queryP50Ms: med((m) => m.query.p50),
    queryP99Ms: med((m) => m.query.p99),
    scanEventsPerSecond: med((m) => m.scan.eventsPerSecond),
    runs: opens,
  };
}

export async function scaleScenario(cfg, argv, log) {
  const sizes = scaleSizes(cfg, argv);
  // At least 100 events per entity at the smallest size, so every size has a 100-event entity query.
  const entities = Math.max(1, Math.min(cfg.scaleEntities, Math.floor(sizes[0] / 100)));
  const sampleEvery = Math.max(1, Math.floor(sizes[0] / 10_000)); // ≥ 10k ids to draw random gets from
  log(`  sizes ${sizes.map((n) => n.toLocaleString('en-US')).join(', ')} events, 64 B payloads over ${entities.toLocaleString('en-US')} entities; ${cfg.scaleOpens} fresh process(es) per size`);

  // The baseline: a fresh process that opened an empty store. What a size adds over it is its resident index.
  const emptyDir = freshDir('scale-empty');
  const empty = [];
  for (let i = 0; i < 3; i++) empty.push(runChild(['measure', emptyDir, 0, '-', 0, 0, 0, entities]));
  removeDir(emptyDir);
  const emptyRssMiB = median(empty.map((e) => e.rssMiB));
  log(`    empty store: RSS after open ${emptyRssMiB.toFixed(1)} MiB (median of 3 processes)`);

  const dir = freshDir('scale-store');
  const idsDir = freshDir('scale-ids'); // beside the store, not in it: the store reports a file it does not know
  const idsFile = join(idsDir, 'ids.txt');
  const rows = [];
  let built = 0;
  let diskPerEvent = PRIOR_DISK_BYTES_PER_EVENT;
  let buildRate;
  let buildTotalSeconds = 0;
  try {
    for (let s = 0; s < sizes.length; s++) {
      const events = sizes[s];
      const need = (events - built) * diskPerEvent * 1.2;
      const free = freeBytes(dir);
      if (free - need < DISK_RESERVE_BYTES) {
        const note = `needs ~${(need / GiB).toFixed(1)} GiB more on disk, ${(free / GiB).toFixed(1)} GiB free (keeping ${DISK_RESERVE_BYTES / GiB} GiB free)`;
        log(`  ! ${events.toLocaleString('en-US')} events and larger skipped: ${note}`);
        for (const n of sizes.slice(s)) rows.push({ events: n, skipped: note });
        break;
      }
      if (buildRate !== undefined) log(`    growing to ${events.toLocaleString('en-US')}: ~${Math.ceil((events - built) / buildRate)} s at the rate so far`);
      const t0 = Date.now();
      let b;
      try {
        b = runChild(['build', dir, built, events, entities, idsFile, sampleEvery]);
        if (b.events !== events) throw new Error(`built ${b.events} events, expected ${events}`);
      } catch (err) {
        // A half-grown store is no base for the larger sizes.
        log(`  ! ${events.toLocaleString('en-US')} events and larger: the build failed: ${err.message}`);
        for (const n of sizes.slice(s)) rows.push({ events: n, failed: `build: ${err.message}` });
        break;
      }
      const wallSeconds = (Date.now() - t0) / 1000;
      const stepSeconds = b.appendSeconds + b.syncSeconds;
      buildRate = (events - built) / stepSeconds;
      buildTotalSeconds += stepSeconds;
      const grown = built > 0 ? `grown from ${built.toLocaleString('en-US')} ` : '';
      built = events;
      const diskBytes = diskUsage(dir);
      diskPerEvent = diskBytes / events;
      log(
        `    ${events.toLocaleString('en-US')} events: ${grown}(appendBatch 4096, sync 'none', one sync()) in ${stepSeconds.toFixed(1)} s (${Math.round(buildRate).toLocaleString('en-US')} events/s; ` +
          `${wallSeconds.toFixed(1)} s with the child's start${grown === '' ? '' : ' and reopen'}; ${buildTotalSeconds.toFixed(1)} s of building so far), ${(diskBytes / MiB).toFixed(0)} MiB on disk in ${b.segments} segments`,
      );

      try {
        rows.push({ ...measureSize(cfg, dir, idsFile, events, entities, emptyRssMiB, log), buildSeconds: buildTotalSeconds, buildEventsPerSecond: buildRate, diskBytes });
      } catch (err) {
        // The store is whole (its build finished): a larger size may still open, so go on.
        log(`  ! ${events.toLocaleString('en-US')} events: ${err.message}`);
        rows.push({ events, failed: err.message });
      }
    }
  } finally {
    removeDir(dir);
    removeDir(idsDir);
  }
  return { entities, emptyRssMiB, rows };
}
