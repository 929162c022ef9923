// A small store whose events span many sealed segments (4 KiB each), with batches among single appends over seven
// entities: what the verifyChain-over-index-files tests read. Deterministic for a given seed and event count.
import { Coordinate, Store, type EventDefinition } from '../../src/index.js';
import { SimFs } from '../../src/entry/testing.js';

/** Writes `events` events of `note` (every 11th step a 3-event batch) and closes; returns the Fs and the ids in order. */
export async function writtenSealed(
  note: EventDefinition<{ n: number; text: string }>,
  seed: number,
  events: number,
  extra: { signingKey?: Uint8Array } = {},
): Promise<{ sim: SimFs; ids: string[] }> {
  const sim = new SimFs(seed);
  const s = await Store.open({ dir: '/s', fs: sim, segmentMaxBytes: 4096, onWarning: () => undefined, ...extra });
  const ids: string[] = [];
  for (let n = 0; n < events; ) {
    if (n % 11 === 5) {
      const rs = await s.appendBatch([0, 1, 2].map((k) => ({ coord: new Coordinate(`e${(n + k) % 7}`, 's'), kind: note, payload: { n: n + k, text: 'batch' } })));
      ids.push(...rs.map((r) => r.eventId));
      n += 3;
    } else {
      ids.push((await s.append(new Coordinate(`e${n % 7}`, 's'), note, { n, text: 'x'.repeat(n % 50) })).eventId);
      n++;
    }
  }
  await s.close();
  return { sim, ids };
}
