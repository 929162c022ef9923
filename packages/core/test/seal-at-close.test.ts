// Close seals a well-filled active segment (store/close.ts sealsAtClose), so the next open serves it from its index
// file and holds none of its entries; entity heads then come from index files, checked frame by frame in place
// (SealedTier.headsInto) — with exactly the answers of an open that scanned every segment.

import { describe, expect, it, vi } from 'vitest';
import { SealedTier } from '../src/event-index/sealed-tier.js';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { SEAL_AT_CLOSE_MIN_BYTES, sealsAtClose } from '../src/store/close.js';

const Note = defineEvent<{ n: number; pad: string }>({ category: 1, typeId: 1 });
const SEGMENT = 8 * SEAL_AT_CLOSE_MIN_BYTES;
const KEY = new Uint8Array(32).fill(9);

async function fill(fs: SimFs, events: number, options: Record<string, unknown> = {}): Promise<void> {
  const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, sync: 'none', onWarning: () => undefined, ...options });
  for (let n = 0; n < events; n += 50) {
    await s.appendBatch(Array.from({ length: 50 }, (_, k) => ({ coord: new Coordinate(`e${(n + k) % 37}`, `sc${(n + k) % 3}`), kind: Note, payload: { n: n + k, pad: 'p'.repeat((n + k) % 400) } })));
  }
  // Single appends too: heads that are not in a batch.
  for (let k = 0; k < 37; k += 2) await s.append(new Coordinate(`e${k}`, 'sc0'), Note, { n: events + k, pad: '' });
  await s.close();
}

const files = (fs: SimFs, ext: string) => fs.listFiles().filter((p) => p.startsWith('/s/') && p.endsWith(ext)).sort();

describe('close seals a well-filled active segment', () => {
  it('only from 1/8 of segmentMaxBytes and SEAL_AT_CLOSE_MIN_BYTES on', () => {
    expect(sealsAtClose(SEGMENT / 8 - 1, SEGMENT)).toBe(false);
    expect(sealsAtClose(SEGMENT / 8, SEGMENT)).toBe(true);
    expect(sealsAtClose(SEAL_AT_CLOSE_MIN_BYTES - 1, 4096)).toBe(false);
    expect(sealsAtClose(SEAL_AT_CLOSE_MIN_BYTES, 4096)).toBe(true);
  });

  it('INV-INDEX-RESIDENT-COMPACT: the next open holds none of its entries, and answers as a scanning open does', async () => {
    const fs = new SimFs(5);
    await fill(fs, 6000);
    // One segment filled past the threshold, sealed with its index file; a new, empty one is active.
    expect(files(fs, '.bps')).toEqual(['/s/000001.bps', '/s/000002.bps']);
    expect(files(fs, '.bpi')).toEqual(['/s/000001.bpi']);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, onWarning: () => undefined });
    expect(s.stats().index).toMatchObject({ residentEntries: 0, sealedSegments: 1, headEntries: 37 });
    const heads = Array.from({ length: 37 }, (_, k) => s.head(`e${k}`));
    const events: unknown[] = [];
    for await (const e of s.query({})) events.push(e);
    // Appends after it go to the new segment and chain onto the heads read from the file.
    await s.append(new Coordinate('e3', 'sc0'), Note, { n: -1, pad: 'after' });
    expect(s.head('e3')!.entitySequence).toBe(heads[3]!.entitySequence + 1n);
    await s.close();

    // The same store with its index files set aside: scanned into memory at open.
    for (const p of files(fs, '.bpi')) await fs.remove(p);
    const scanned = await Store.open({ dir: '/s', fs, readOnly: true, onWarning: () => undefined });
    expect(scanned.stats().index?.sealedSegments).toBe(0);
    const again: unknown[] = [];
    for await (const e of scanned.query({ limit: events.length })) again.push(e);
    expect(again).toEqual(events);
    expect((await scanned.verifyChain()).intact).toBe(true);
    await scanned.close();
  });

  it('heads read from index files equal the scanned heads, for signed, encrypted, batched and single events', async () => {
    for (const [options, plain] of [[{}, true], [{ signingKey: KEY }, true], [{ payloadEncryption: { granularity: 'entity' } }, false]] as const) {
      const fs = new SimFs(7);
      await fill(fs, 6000, options);
      // Plain frames are checked in place; an encrypted one is not plain, and the decoding path answers for its file.
      const decoded = vi.spyOn(SealedTier.prototype, 'heads');
      const fromFiles = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, readOnly: true, onWarning: () => undefined, ...options });
      expect(decoded.mock.calls.length > 0, JSON.stringify(options)).toBe(!plain);
      decoded.mockRestore();
      expect(fromFiles.stats().index).toMatchObject({ residentEntries: 0, headEntries: 37 });
      const heads = Array.from({ length: 37 }, (_, k) => fromFiles.head(`e${k}`));
      await fromFiles.close();
      for (const p of files(fs, '.bpi')) await fs.remove(p);
      const scanned = await Store.open({ dir: '/s', fs, readOnly: true, onWarning: () => undefined, ...options });
      expect(heads, JSON.stringify(options)).toEqual(Array.from({ length: 37 }, (_, k) => scanned.head(`e${k}`)));
      await scanned.close();
    }
  });

  it('only a process that appended seals: an open and close without a change leaves the directory as it was', async () => {
    const fs = new SimFs(8);
    // A big active segment that no close sealed (the process died), then made whole by a clean reopen without appends.
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, sync: 'always', onWarning: () => undefined });
    for (let n = 0; n < 6000; n += 50) await s.appendBatch(Array.from({ length: 50 }, (_, k) => ({ coord: new Coordinate(`e${k % 37}`, 's'), kind: Note, payload: { n: n + k, pad: 'p'.repeat(300) } })));
    fs.crash();
    const files0 = () => [...fs.snapshot()].filter(([p]) => p.startsWith('/s/') && !p.includes('.tmp')).map(([p, f]) => [p, Buffer.from(f.current).toString('hex')]);
    const quiet = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, onWarning: () => undefined });
    await quiet.close();
    const before = files0();
    expect(files(fs, '.bps')).toEqual(['/s/000001.bps']);
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, onWarning: () => undefined });
    expect(again.stats().index?.residentEntries).toBe(6000);
    await again.close();
    expect(files0()).toEqual(before);
    // One append, and the close seals the segment it went to.
    const writer = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, onWarning: () => undefined });
    await writer.append(new Coordinate('e1', 's'), Note, { n: -1, pad: '' });
    await writer.close();
    expect(files(fs, '.bps')).toEqual(['/s/000001.bps', '/s/000002.bps']);
    expect(files(fs, '.bpi')).toEqual(['/s/000001.bpi']);
  });

  it('an active segment below the threshold stays active across close', async () => {
    const fs = new SimFs(6);
    await fill(fs, 500);
    expect(files(fs, '.bps')).toEqual(['/s/000001.bps']);
    expect(files(fs, '.bpi')).toEqual([]);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: SEGMENT, onWarning: () => undefined });
    expect(s.stats().index?.residentEntries).toBe(519);
    await s.close();
  });
});
