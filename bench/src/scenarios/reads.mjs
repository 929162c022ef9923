// Scenario 4: get and query latency (p50/p99) and read throughput on the big store, opened once.
// Invariant: reads are drawn with a fixed-seed generator (same reads every run); percentiles are per round, the figure is their median.

import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';
import { latencySummary, median } from '../stats.mjs';

/** xorshift32: a repeatable draw of ids and entities, independent of Math.random. */
export function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

async function getRound(store, ids, n, rand) {
  const lat = new Float64Array(n);
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const id = ids[Math.floor(rand() * ids.length)];
    const s = performance.now();
    await store.get(id);
    lat[i] = performance.now() - s;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { ...latencySummary(lat), perSecond: n / seconds };
}

/** 64 gets in flight: throughput when many readers share the store. */
async function getConcurrentRound(store, ids, n, rand) {
  let left = n;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (left > 0) {
        left--;
        await store.get(ids[Math.floor(rand() * ids.length)]);
      }
    }),
  );
  return { perSecond: n / ((performance.now() - t0) / 1000) };
}

/** query({ entity }) of one whole entity (events/entities events each), collected; latency per query. */
async function queryRound(store, entities, n, rand) {
  const lat = new Float64Array(n);
  let events = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const entity = `entity-${Math.floor(rand() * entities)}`;
    const s = performance.now();
    for await (const _ of store.query({ entity })) events++;
    lat[i] = performance.now() - s;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { ...latencySummary(lat), perSecond: n / seconds, eventsPerSecond: events / seconds, eventsPerQuery: events / n };
}

/** A commit-order scan from a random starting point: the replay/projection read path. */
async function scanRound(store, total, n, payloadBytes, rand) {
  const after = BigInt(Math.floor(rand() * Math.max(1, total - n)));
  let events = 0;
  const t0 = performance.now();
  for await (const _ of store.query({ after, limit: n })) events++;
  const seconds = (performance.now() - t0) / 1000;
  return { eventsPerSecond: events / seconds, payloadMBps: (events * payloadBytes) / 1e6 / seconds };
}

export async function readsScenario(cfg, built, dir, log) {
  const store = await Store.open({ dir });
  const rounds = { get: [], getConcurrent: [], query: [], scan: [] };
  try {
    const rand = rng(0x5eed);
    // Warm-up: one short pass of each read path, not recorded.
    await getRound(store, built.sampleIds, Math.ceil(cfg.gets / 10), rand);
    await queryRound(store, built.entities, Math.ceil(cfg.queries / 10), rand);
    await scanRound(store, built.events, Math.ceil(cfg.scanEvents / 10), built.payloadBytes, rand);
    for (let round = 0; round < cfg.reps; round++) {
      // Rotate the order so no read path always runs right after another's garbage.
      const order = ['get', 'getConcurrent', 'query', 'scan'];
      for (let k = 0; k < order.length; k++) {
        const which = order[(k + round) % order.length];
        if (which === 'get') rounds.get.push(await getRound(store, built.sampleIds, cfg.gets, rand));
        if (which === 'getConcurrent') rounds.getConcurrent.push(await getConcurrentRound(store, built.sampleIds, cfg.gets, rand));
        if (which === 'query') rounds.query.push(await queryRound(store, built.entities, cfg.queries, rand));
        if (which === 'scan') rounds.scan.push(await scanRound(store, built.events, cfg.scanEvents, built.payloadBytes, rand));
      }
      const g = rounds.get.at(-1);
      const q = rounds.query.at(-1);
      log(`    round ${round + 1}: get p50 ${(g.p50 * 1000).toFixed(0)} µs p99 ${(g.p99 * 1000).toFixed(0)} µs; query p50 ${q.p50.toFixed(2)} ms p99 ${q.p99.toFixed(2)} ms; scan ${rounds.scan.at(-1).eventsPerSecond.toFixed(0)} ev/s`);
    }
  } finally {
    await store.close();
  }
  const m = (list, key) => median(list.map((r) => r[key]));
  return {
    getP50Micros: m(rounds.get, 'p50') * 1000,
    getP99Micros: m(rounds.get, 'p99') * 1000,
    getPerSecond: m(rounds.get, 'perSecond'),
    getConcurrentPerSecond: m(rounds.getConcurrent, 'perSecond'),
    queryP50Ms: m(rounds.query, 'p50'),
    queryP99Ms: m(rounds.query, 'p99'),
    queryPerSecond: m(rounds.query, 'perSecond'),
    queryEventsPerSecond: m(rounds.query, 'eventsPerSecond'),
    eventsPerQuery: m(rounds.query, 'eventsPerQuery'),
    scanEventsPerSecond: m(rounds.scan, 'eventsPerSecond'),
    scanPayloadMBps: m(rounds.scan, 'payloadMBps'),
    runs: rounds,
  };
}
