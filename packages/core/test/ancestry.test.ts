// INV-ANCESTRY-OBSERVABLE: walkAncestors says why it stopped; a truncated lineage never looks complete.
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { decodeFrameBody, encodeEventFrame } from '../src/segment/frame.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const a = new Coordinate('a', 's');
const b = new Coordinate('b', 's');

async function setup() {
  const fs = new SimFs(11);
  const store = await Store.open({ dir: '/s', fs });
  const ra = [];
  for (let i = 0; i < 4; i++) {
    ra.push(await store.append(a, E, { n: i }));
    await store.append(b, E, { n: 100 + i });
  }
  return { fs, store, ra };
}

/** Re-encodes the frame of `eventId` in place with `change` applied (CRC stays valid). */
function rewriteFrame(fs: SimFs, eventId: string, change: (f: ReturnType<typeof decodeFrameBody>) => Parameters<typeof encodeEventFrame>[0]) {
  const path = '/s/000001.bps';
  const bytes = new Uint8Array(fs.inspect(path)!.current);
  let pos = 32;
  while (pos < bytes.length) {
    const len = new DataView(bytes.buffer, bytes.byteOffset + pos).getUint32(4);
    const f = decodeFrameBody(bytes.subarray(pos + 12, pos + 12 + len));
    if (f.type === 0 && Buffer.from(f.id).toString('hex') === eventId) bytes.set(encodeEventFrame(change(f)), pos);
    pos += 12 + len;
  }
  fs.putFile(path, bytes);
}

describe('walkAncestors (INV-ANCESTRY-OBSERVABLE)', () => {
  it('walks back through the entity to genesis, anchor first, newest first', async () => {
    const { store, ra } = await setup();
    const walk = await store.walkAncestors(ra[3]!.eventId);
    expect(walk.ancestors.map((e) => e.header.eventId)).toEqual([...ra].reverse().map((r) => r.eventId));
    expect(walk.ancestors.map((e) => (e.payload as { n: number }).n)).toEqual([3, 2, 1, 0]);
    expect(walk.boundary).toEqual({ kind: 'reached-genesis', eventId: ra[0]!.eventId });
    expect(walk.shredded).toEqual([]);
    await store.close();
  });

  it('limit counts the anchor and reports limit-reached', async () => {
    const { store, ra } = await setup();
    const walk = await store.walkAncestors(ra[3]!.eventId, { limit: 2 });
    expect(walk.ancestors).toHaveLength(2);
    expect(walk.boundary).toEqual({ kind: 'limit-reached', eventId: ra[1]!.eventId });
    await store.close();
  });

  it('an unknown anchor is no-anchor with an empty walk', async () => {
    const { store } = await setup();
    const walk = await store.walkAncestors('f'.repeat(32));
    expect(walk).toEqual({ ancestors: [], boundary: { kind: 'no-anchor', eventId: 'f'.repeat(32) }, shredded: [] });
    await store.close();
  });

  it('a parent that is not in the store is missing-parent naming the child', async () => {
    const { fs, store, ra } = await setup();
    await store.close();
    rewriteFrame(fs, ra[2]!.eventId, (f) => ({ ...(f as Parameters<typeof encodeEventFrame>[0]), prevHash: new Uint8Array(32).fill(9) }));
    const again = await Store.open({ dir: '/s', fs });
    const walk = await again.walkAncestors(ra[3]!.eventId);
    expect(walk.ancestors.map((e) => e.header.eventId)).toEqual([ra[3]!.eventId, ra[2]!.eventId]);
    expect(walk.boundary).toEqual({ kind: 'missing-parent', eventId: ra[2]!.eventId });
    await again.close();
  });

  it('an ancestor that cannot be read is read-failure, not a short complete walk', async () => {
    const { fs, store, ra } = await setup();
    // Damage the second event's frame on disk after open: the index still points at it.
    const bytes = fs.inspect('/s/000001.bps')!.current;
    const at = Buffer.from(bytes).indexOf(Buffer.from(ra[1]!.eventId, 'hex'));
    fs.corrupt('/s/000001.bps', at + 20, 0xff);
    const walk = await store.walkAncestors(ra[3]!.eventId);
    expect(walk.ancestors).toHaveLength(2);
    expect(walk.boundary).toEqual({ kind: 'read-failure', eventId: ra[1]!.eventId });
    await store.close();
  });
});
