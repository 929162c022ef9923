// The "durable" column as a measured fact: N appends per contender in a child under strace -f, minus an empty open/close, divided by N.
// Invariant: skipped (and said so) when strace is missing or cannot trace; never changes the throughput figures.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('../probe-child.mjs', import.meta.url));
const SYNC_CALLS = ['fsync', 'fdatasync', 'sync_file_range', 'msync'];
const WRITE_CALLS = ['write', 'writev', 'pwrite64', 'pwritev', 'pwritev2'];

export function straceAvailable() {
  const r = spawnSync('strace', ['-f', '-qq', '-e', 'trace=none', 'true'], { encoding: 'utf8' });
  return r.status === 0;
}

/** Counts traced calls by name, and opens that ask for O_DSYNC/O_SYNC (those sync on every write). */
function traceRun(id, writers, count) {
  const dir = mkdtempSync(join(tmpdir(), 'batpak-strace-'));
  const out = join(dir, 'trace');
  try {
    const r = spawnSync(
      'strace',
      ['-f', '-qq', '-o', out, '-e', `trace=${[...SYNC_CALLS, ...WRITE_CALLS, 'openat'].join(',')}`, process.execPath, CHILD, id, String(writers), String(count)],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    );
    if (r.status !== 0) throw new Error(`probe child failed: ${(r.stderr || '').split('\n').slice(-3).join(' ')}`);
    const reported = JSON.parse(r.stdout.trim().split('\n').pop());
    if (!reported.ok) return { unavailable: reported.reason };
    const counts = {};
    let dsyncOpens = 0;
    for (const line of readFileSync(out, 'utf8').split('\n')) {
      // "[pid N] name(" or "N name(" starts a call; "<... name resumed>" continues one already counted.
      const m = /^(?:\[pid\s+\d+\]\s+|\d+\s+)?([a-z0-9_]+)\(/.exec(line);
      if (m === null) continue;
      // libuv wakes the event loop from its threadpool with an 8-byte write to an eventfd: that is not I/O
      // of the log, so it is counted apart (async fs APIs pay one per completed request).
      if (m[1] === 'write' && /, "\\1\\0\\0\\0\\0\\0\\0\\0", 8\)/.test(line)) {
        counts.wakeup = (counts.wakeup ?? 0) + 1;
        continue;
      }
      counts[m[1]] = (counts[m[1]] ?? 0) + 1;
      if (m[1] === 'openat' && /O_DSYNC|O_SYNC/.test(line)) dsyncOpens++;
    }
    return { counts, dsyncOpens, events: reported.events };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sum = (counts, names) => names.reduce((s, n) => s + (counts[n] ?? 0), 0);

/** Per-event sync and write calls of one contender configuration (N appends minus the open/close baseline). */
export function probe(id, writers, count) {
  const base = traceRun(id, writers, 0);
  if (base.unavailable !== undefined) return { id, writers, unavailable: base.unavailable };
  const run = traceRun(id, writers, count);
  const n = run.events;
  return {
    id,
    writers,
    events: n,
    syncsPerEvent: (sum(run.counts, SYNC_CALLS) - sum(base.counts, SYNC_CALLS)) / n,
    writesPerEvent: (sum(run.counts, WRITE_CALLS) - sum(base.counts, WRITE_CALLS)) / n,
    wakeupsPerEvent: ((run.counts.wakeup ?? 0) - (base.counts.wakeup ?? 0)) / n,
    dsyncOpens: run.dsyncOpens,
  };
}

/** The probe set: the configurations whose durability the report states. */
export function syscallScenario(cfg, log) {
  if (!straceAvailable()) {
    log('  ! strace is not available (or cannot trace here): the durable column falls back to the in-process fsync counter');
    return [];
  }
  const plan = [
    ['batpak-unsigned', 1],
    ['batpak-unsigned', 64],
    ['batpak-signed', 64],
    ['batpak-encrypted', 64],
    ['sqlite-full', 1],
    ['hypercore', 1],
    ['hypercore', 64],
    ['lmdb', 64],
    ['raw-fsync', 1],
    ['raw-group-commit', 64],
  ];
  const rows = [];
  for (const [id, writers] of plan) {
    try {
      const r = probe(id, writers, cfg.probeEvents);
      rows.push(r);
      if (r.unavailable !== undefined) log(`    ${id} ×${writers}: ${r.unavailable}`);
      else log(`    ${id} ×${writers}: ${r.syncsPerEvent.toFixed(3)} syncs/event, ${r.writesPerEvent.toFixed(2)} writes/event, ${r.wakeupsPerEvent.toFixed(2)} loop wakeups/event${r.dsyncOpens ? `, ${r.dsyncOpens} O_DSYNC opens` : ''}`);
    } catch (err) {
      rows.push({ id, writers, error: err.message });
      log(`    ${id} ×${writers}: probe failed: ${err.message}`);
    }
  }
  return rows;
}
