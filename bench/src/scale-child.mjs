// Child process of the scale scenario. `build DIR FROM TO ENTITIES IDS SAMPLE` grows the store in DIR from FROM to TO
// events (64 B payloads) and appends every SAMPLE-th event id to the file IDS; `measure DIR EXPECTED IDS GETS QUERIES
// SCAN ENTITIES` opens the store in this fresh process and times open, then gets, entity queries and a scan.
// Invariant: prints one JSON line last; module loading is outside every timed region, and memory is read right
// after open, before the ids file is loaded (so RSS holds the open store and nothing the bench adds).

import { appendFileSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Store } from '@batpak/core';
import { buildStore } from './scenarios/store-build.mjs';
import { rng } from './scenarios/reads.mjs';
import { latencySummary } from './stats.mjs';

const [what, dir, ...rest] = process.argv.slice(2);
const MiB = 2 ** 20;

if (what === 'build') {
  const [from, to, entities, idsFile, sampleEvery] = rest.map((x, i) => (i === 3 ? x : Number(x)));
  const r = await buildStore(dir, { events: to - from, from, payloadBytes: 64, entities, sampleEvery });
  // The sampled ids (every SAMPLE-th event, counted from event 0) are where random gets are drawn from.
  appendFileSync(idsFile, r.sampleIds.map((id) => `${id}\n`).join(''));
  console.log(JSON.stringify({ appendSeconds: r.appendSeconds, syncSeconds: r.syncSeconds, events: r.storeEvents, segments: r.segments, segmentBytes: r.diskBytes }));
} else if (what === 'measure') {
  const [expected, idsFile, gets, queries, scan, entities] = rest.map((x, i) => (i === 1 ? x : Number(x)));
  const t0 = performance.now();
  const store = await Store.open({ dir });
  const openSeconds = (performance.now() - t0) / 1000;
  const mem = process.memoryUsage();
  const events = Number(store.stats().events);
  if (events !== expected) throw new Error(`opened ${events} events, expected ${expected}`);
  const out = {
    events,
    openSeconds,
    rssMiB: mem.rss / MiB,
    heapUsedMiB: mem.heapUsed / MiB,
    heapTotalMiB: mem.heapTotal / MiB,
    externalMiB: mem.external / MiB,
    arrayBuffersMiB: mem.arrayBuffers / MiB,
  };
  if (events > 0) {
    const rand = rng(0x5ca1e);
    // Gets first: the process is cold (nothing read since open), so these are the cold-cache figures.
    const ids = readFileSync(idsFile, 'utf8').split('\n').filter((l) => l !== '');
    const getLat = new Float64Array(gets);
    for (let i = 0; i < gets; i++) {
      const id = ids[Math.floor(rand() * ids.length)];
      const s = performance.now();
      await store.get(id);
      getLat[i] = performance.now() - s;
    }
    out.get = latencySummary(getLat);

    // 100 events of one entity from a random point of the log (the whole entity at 1M over 10k entities); the
    // start leaves at least 100 of the entity's events after it, and every query must return exactly 100.
    const queryLat = new Float64Array(queries);
    const room = events - 101 * entities;
    for (let i = 0; i < queries; i++) {
      const entity = `entity-${Math.floor(rand() * entities)}`;
      const filter = room > 0 ? { entity, after: BigInt(Math.floor(rand() * room)), limit: 100 } : { entity, limit: 100 };
      let n = 0;
      const s = performance.now();
      for await (const _ of store.query(filter)) n++;
      queryLat[i] = performance.now() - s;
      if (n !== 100) throw new Error(`query of ${entity} returned ${n} events, expected 100`);
    }
    out.query = latencySummary(queryLat);

    // Commit-order scan of `scan` events from a random point: the replay / projection read path.
    const after = BigInt(Math.floor(rand() * Math.max(1, events - scan)));
    let n = 0;
    const s = performance.now();
    for await (const _ of store.query({ after, limit: scan })) n++;
    const seconds = (performance.now() - s) / 1000;
    out.scan = { events: n, eventsPerSecond: n / seconds };
  }
  await store.close();
  console.log(JSON.stringify(out));
} else {
  throw new Error('usage: scale-child.mjs build DIR FROM TO ENTITIES IDS SAMPLE | measure DIR EXPECTED IDS GETS QUERIES SCAN ENTITIES');
}
