// Scenario 5: compaction throughput — 'merge' of every sealed segment, and 'retention' dropping half — on a fresh copy of one template per run.
// Invariant: every run compacts the same bytes (~16 sealed segments); building, copying and opening are untimed.

import { cpSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';
import { buildStore } from './store-build.mjs';
import { interleave } from '../harness.mjs';
import { freshDir, removeDir } from '../tmp.mjs';
import { median, spread } from '../stats.mjs';

/** Bytes and count of the sealed segments (every .bps file but the newest, which stays active). */
function sealedSegments(dir) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.bps')).sort();
  const sealed = files.slice(0, -1);
  return { count: sealed.length, bytes: sealed.reduce((s, f) => s + statSync(join(dir, f)).size, 0) };
}

export async function compactionScenario(cfg, log) {
  const template = freshDir('compaction-template');
  // ~16 sealed segments whatever the size, so merge always has real work; frames are ~440 B for 256 B payloads.
  const segmentMaxBytes = Math.max(64 * 1024, Math.floor((cfg.compactEvents * 440) / 16));
  const built = await buildStore(template, {
    events: cfg.compactEvents,
    payloadBytes: 256,
    entities: Math.max(1, Math.floor(cfg.compactEvents / 100)),
    storeOptions: { segmentMaxBytes },
    // A segment rotates between commit groups, never inside one: small batches, one in flight, so the
    // template really gets ~16 segments instead of a few huge groups.
    batch: 256,
    inFlight: 1,
  });
  const sealed = sealedSegments(template);
  const allBytes = readdirSync(template).filter((f) => f.endsWith('.bps')).reduce((s, f) => s + statSync(join(template, f)).size, 0);
  log(`  template: ${built.events} events of 256 B, ${built.segments} segments (${sealed.count} sealed, ${(sealed.bytes / 1e6).toFixed(1)} MB), built in ${built.appendSeconds.toFixed(2)} s`);

  const cell = (strategy) => ({
    key: strategy,
    run: async () => {
      const dir = freshDir(`compact-${strategy}`);
      cpSync(template, dir, { recursive: true });
      const store = await Store.open({ dir, segmentMaxBytes });
      const before = Number(store.stats().events);
      try {
        const t0 = performance.now();
        const r = await store.compact(
          strategy === 'merge' ? { strategy: 'merge' } : { strategy: 'retention', keep: (e) => e.header.globalSequence % 2n === 0n },
        );
        const seconds = (performance.now() - t0) / 1000;
        if (r.outcome !== 'performed') throw new Error(`compaction ${strategy}: ${r.outcome} ${r.reason ?? ''}`);
        // Events in the sealed segments (the input): frames are uniform here, so the byte share is the event share.
        const sealedEvents = Math.round((before * sealed.bytes) / allBytes);
        return { seconds, eventsPerSecond: sealedEvents / seconds, inputMBps: sealed.bytes / 1e6 / seconds, dropped: r.eventsDropped };
      } finally {
        await store.close();
        removeDir(dir);
      }
    },
  });
  const results = await interleave([cell('merge'), cell('retention')], {
    reps: cfg.compactReps,
    onResult: (c, r) => {
      if (r.error !== undefined) log(`    ${c.key}: ERROR ${r.error}`);
      else log(`    ${c.key}: ${r.seconds.toFixed(2)} s, ${(r.inputMBps).toFixed(0)} MB/s of sealed segments${r.dropped ? `, ${r.dropped} dropped` : ''}`);
    },
  });
  removeDir(template);
  const summary = (key) => {
    const ok = results.get(key).filter((r) => r.error === undefined);
    return {
      eventsPerSecond: median(ok.map((r) => r.eventsPerSecond)),
      inputMBps: median(ok.map((r) => r.inputMBps)),
      spreadMBps: spread(ok.map((r) => r.inputMBps)),
      dropped: median(ok.map((r) => r.dropped)),
    };
  };
  return { sealed, events: built.events, merge: summary('merge'), retention: summary('retention') };
}
