// Measurement harness: concurrent writer loops against a deadline, and round-robin interleaving of cells after a warm-up round.
// Invariant: setup and teardown (open, close, directory removal) are never inside a timed region.

import { performance } from 'node:perf_hooks';
import { freshDir, removeDir } from './tmp.mjs';

/**
 * Runs `writers` concurrent loops of `await append(w)` until `ms` elapse; in-flight calls finish and count.
 * Returns events/s over the wall time from the first call to the last completion.
 */
export async function driveWriters(handle, writers, ms) {
  const perCall = handle.eventsPerCall ?? 1;
  let calls = 0;
  const t0 = performance.now();
  const deadline = t0 + ms;
  const loop = async (w) => {
    while (performance.now() < deadline) {
      await handle.append(w);
      calls++;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
  const seconds = (performance.now() - t0) / 1000;
  const events = calls * perCall;
  return { events, seconds, rate: events / seconds };
}

/** One timed run of an append contender in a fresh directory, with its fsync counter read when it has one. */
export async function runAppendCell(c, writers, ms, payload) {
  const dir = freshDir(`${c.id}-${writers}`);
  let handle;
  try {
    handle = await c.open(dir, payload);
    const r = await driveWriters(handle, writers, ms);
    const counters = handle.counters?.();
    if (counters === undefined) return r;
    // Per commit group (one fsync each): how the group's cycle splits into awaiting writev, awaiting
    // fdatasync, and everything else (the store's CPU on the one JS thread, plus event-loop turns).
    const groups = Math.max(1, counters.fsyncs);
    const cycleMs = (r.seconds * 1000) / groups;
    const timing =
      counters.fsyncMs === undefined
        ? undefined
        : { cycleMicros: cycleMs * 1000, writeMicros: (counters.appendMs / groups) * 1000, fsyncMicros: (counters.fsyncMs / groups) * 1000 };
    return { ...r, fsyncsPerEvent: counters.fsyncs / r.events, groupTiming: timing };
  } finally {
    await handle?.close();
    removeDir(dir);
  }
}

/**
 * Round-robin over `cells` for `reps` rounds after one warm-up round (not recorded). Each cell is
 * `{ key, run: async (round) => result }`; the order rotates every round so no cell always runs first
 * or last. Returns Map key -> [result per round]. A cell that throws records { error } and the suite goes on.
 */
export async function interleave(cells, { reps, warmup = true, onResult = () => {} }) {
  const results = new Map(cells.map((c) => [c.key, []]));
  const rounds = (warmup ? 1 : 0) + reps;
  for (let round = 0; round < rounds; round++) {
    const recorded = !warmup || round > 0;
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[(i + round) % cells.length];
      let result;
      try {
        result = await cell.run(recorded ? round : -1);
      } catch (err) {
        result = { error: err instanceof Error ? err.message : String(err) };
      }
      if (recorded) {
        results.get(cell.key).push(result);
        onResult(cell, result, round);
      }
    }
  }
  return results;
}

/** Lets pending I/O callbacks and finalizers settle between heavy cells. */
export async function settle() {
  await new Promise((r) => setImmediate(r));
  if (global.gc) global.gc();
}
