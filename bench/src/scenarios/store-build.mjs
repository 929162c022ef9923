// Builds a large store fast for the read-side scenarios: appendBatch of 4096-event batches, sync 'none', one sync() at the end (not a durable figure).
// Invariant: payloads differ per event (an index is written into each), so every content hash and link is distinct.

import { performance } from 'node:perf_hooks';
import { Store, Coordinate } from '@batpak/core';
import { BENCH_KIND } from '../batpak.mjs';

/**
 * Appends `events` events of `payloadBytes` bytes over `entities` entities (round-robin, so each entity's chain
 * is spread over the whole log, the hard case for a per-entity reader). Returns sampled event ids and timings.
 * `from` continues a store that already holds events 0..from-1 built the same way (the scale scenario grows one
 * store through its sizes); event i goes to entity i % entities and carries i in its payload either way.
 */
export async function buildStore(dir, { events, payloadBytes, entities, from = 0, batch = 4096, inFlight = 4, sampleEvery = 50, storeOptions = {} }) {
  const store = await Store.open({ dir, sync: 'none', ...storeOptions });
  const coords = Array.from({ length: entities }, (_, i) => new Coordinate(`entity-${i}`, 'bench'));
  const template = Buffer.alloc(payloadBytes);
  for (let i = 0; i < payloadBytes; i++) template[i] = (i * 31 + 17) & 0xff;
  const sampleIds = [];
  const end = from + events;
  let next = from;
  const t0 = performance.now();
  const worker = async () => {
    while (next < end) {
      const start = next;
      const n = Math.min(batch, end - start);
      next += n;
      const items = new Array(n);
      for (let k = 0; k < n; k++) {
        const i = start + k;
        const payload = Buffer.from(template);
        payload.writeUInt32LE(i, 0);
        items[k] = { coord: coords[i % entities], kind: BENCH_KIND, payload };
      }
      const receipts = await store.appendBatch(items);
      for (let k = 0; k < receipts.length; k++) if ((start + k) % sampleEvery === 0) sampleIds.push(receipts[k].eventId);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const tAppended = performance.now();
  await store.sync();
  const tSynced = performance.now();
  const stats = store.stats();
  await store.close();
  return {
    sampleIds,
    entities,
    events,
    storeEvents: Number(stats.events),
    payloadBytes,
    diskBytes: Number(stats.bytes),
    segments: stats.segments,
    appendSeconds: (tAppended - t0) / 1000,
    syncSeconds: (tSynced - tAppended) / 1000,
  };
}
