// Chain linkage properties (INV-CHAIN-RECOMPUTE): receipts chain per entity; any single rewritten
// link is reported for exactly that event.
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type AppendReceipt } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { decodeFrameBody, encodeEventFrame } from '../src/segment/frame.js';

const E = defineEvent<{ n: number }>({ category: 1, typeId: 1 });
const ZERO = new Uint8Array(32);

describe('chain linkage properties', () => {
  it('every receipt links to its entity predecessor; verifyChain is intact; rewriting one prevHash is reported for that event only', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 2, maxLength: 30 }), fc.nat(), async (entities, pick) => {
        const fs = new SimFs(pick);
        const store = await Store.open({ dir: '/s', fs });
        const receipts: AppendReceipt[] = [];
        // Half the appends are concurrent, so links also hold inside commit groups.
        const half = Math.floor(entities.length / 2);
        for (const [i, e] of entities.slice(0, half).entries()) receipts.push(await store.append(new Coordinate(`e${e}`, 's'), E, { n: i }));
        receipts.push(...(await Promise.all(entities.slice(half).map((e, i) => store.append(new Coordinate(`e${e}`, 's'), E, { n: half + i })))));
        const last = new Map<string, Uint8Array>();
        for (const r of [...receipts].sort((a, b) => Number(a.globalSequence - b.globalSequence))) {
          expect(r.prevHash).toEqual(last.get(r.coordinate.entity) ?? ZERO);
          last.set(r.coordinate.entity, r.contentHash);
        }
        expect((await store.verifyChain()).intact).toBe(true);
        await store.close();

        // Rewrite one event's prevHash (re-encoding the frame, so its CRC is valid).
        const victim = receipts[pick % receipts.length]!;
        const path = '/s/000001.bps';
        const bytes = new Uint8Array(fs.inspect(path)!.current);
        let pos = 32;
        while (pos < bytes.length) {
          const len = new DataView(bytes.buffer, bytes.byteOffset + pos).getUint32(4);
          const f = decodeFrameBody(bytes.subarray(pos + 12, pos + 12 + len));
          if (f.type === 0 && Buffer.from(f.id).toString('hex') === victim.eventId) {
            const forged = encodeEventFrame({ ...f, prevHash: new Uint8Array(32).fill(0xee) });
            expect(forged.length).toBe(12 + len);
            bytes.set(forged, pos);
            expect(crc32(forged.subarray(12))).toBe(new DataView(forged.buffer, forged.byteOffset).getUint32(8));
          }
          pos += 12 + len;
        }
        fs.putFile(path, bytes);
        const reopened = await Store.open({ dir: '/s', fs });
        const report = await reopened.verifyChain();
        expect(report.danglingLinks).toEqual([victim.eventId]);
        expect(report.intact).toBe(false);
        await reopened.close();
      }),
      { numRuns: 60 },
    );
  });
});
