// Scenario 6: projection read of one 1,000-event entity — cold (nothing cached: the fold reads every event
// from disk), cold from a projection snapshot, cached — beside a hand fold over query({ entity }) in the same run.
// Invariant: every cell folds the same entity to the same state (checked), interleaved; building the store is untimed.

import { performance } from 'node:perf_hooks';
import { Coordinate, defineEvent, defineProjection, Store } from '@batpak/core';
import { interleave, settle } from '../harness.mjs';
import { freshDir, removeDir } from '../tmp.mjs';
import { latencySummary, median } from '../stats.mjs';

const Deposited = defineEvent({ category: 1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent({ category: 1, typeId: 2, name: 'Withdrawn' });
const apply = (s, e) => ({ amount: s.amount + (e.header.kind.typeId === 1 ? e.payload.amount : -e.payload.amount), n: s.n + 1 });
const balance = (snapshotEvery) => defineProjection({ name: 'balance', version: 1, kinds: [Deposited, Withdrawn], initial: () => ({ amount: 0, n: 0 }), apply, snapshotEvery });

export async function projectionsScenario(cfg, log) {
  const dir = freshDir('projections');
  const entity = 'account:hot';
  const setup = await Store.open({ dir });
  // The hot entity's events are spread among other entities' (as in a live store), 256 B memo each.
  const memo = 'x'.repeat(240);
  for (let i = 0; i < cfg.projectionEvents; i++) {
    await setup.appendBatch([
      { coord: new Coordinate(entity, 'bank'), kind: i % 4 === 3 ? Withdrawn : Deposited, payload: { amount: 1 + (i % 7), memo } },
      { coord: new Coordinate(`account:${i % 97}`, 'bank'), kind: Deposited, payload: { amount: 1, memo } },
    ]);
  }
  await setup.close();
  let expected;
  const check = (state) => {
    expected ??= JSON.stringify(state);
    if (JSON.stringify(state) !== expected || state.n !== cfg.projectionEvents) throw new Error(`projection state differs: ${JSON.stringify(state)}`);
  };
  // One store per cell, opened once: the cells differ only in what is cached.
  const stores = {
    cold: await Store.open({ dir, projectionCacheSize: 0 }),
    snapshot: await Store.open({ dir, projectionCacheSize: 0, readOnly: true }),
    cached: await Store.open({ dir, readOnly: true }),
    hand: await Store.open({ dir, readOnly: true }),
  };
  // The snapshot cell reads a snapshot written once here (read-only stores never write one).
  check((await stores.cold.project(balance(cfg.projectionEvents), entity)).state);
  await stores.cached.project(balance(0), entity);
  const reads = {
    cold: async () => (await stores.cold.project(balance(0), entity)).state,
    snapshot: async () => (await stores.snapshot.project(balance(cfg.projectionEvents), entity)).state,
    cached: async () => (await stores.cached.project(balance(0), entity)).state,
    hand: async () => {
      let s = { amount: 0, n: 0 };
      for await (const e of stores.hand.query({ entity })) s = apply(s, e);
      return s;
    },
  };
  const cell = (key) => ({
    key,
    run: async () => {
      await settle();
      const samples = [];
      for (let i = 0; i < cfg.projectionReads; i++) {
        const t0 = performance.now();
        const state = await reads[key]();
        samples.push((performance.now() - t0) * 1000);
        check(state);
      }
      return latencySummary(samples);
    },
  });
  const results = await interleave(Object.keys(reads).map(cell), {
    reps: cfg.reps,
    onResult: (c, r) => log(r.error !== undefined ? `    ${c.key}: ERROR ${r.error}` : `    ${c.key}: p50 ${r.p50.toFixed(1)} µs, p99 ${r.p99.toFixed(1)} µs`),
  });
  for (const s of Object.values(stores)) await s.close();
  removeDir(dir);
  const summary = (key) => {
    const ok = results.get(key).filter((r) => r.error === undefined);
    return { p50Micros: median(ok.map((r) => r.p50)), p99Micros: median(ok.map((r) => r.p99)) };
  };
  return { events: cfg.projectionEvents, cold: summary('cold'), snapshot: summary('snapshot'), cached: summary('cached'), hand: summary('hand') };
}
