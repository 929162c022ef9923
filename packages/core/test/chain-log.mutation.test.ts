// verifyChain over thousands of events (progress, abort) and against frames that are not what was
// committed, and compaction records' trust (INV-CHAIN-RECOMPUTE, INV-COMPACT-SWAP): pins mutation testing asked for.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { signerFromSeed } from '../src/receipt/sign.js';
import { decodeCompactionLog, entryTrusted, RemovedSet, signEntry, type CompactionEntry } from '../src/compaction/log.js';
import { decodeMarker } from '../src/compaction/marker.js';

const Tick = defineEvent<{ i: number }>({ category: 2, typeId: 9, name: 'Tick' });
const SEG = '/db/000001.bps';

function spans(bytes: Uint8Array): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 32; pos + 12 <= bytes.length; pos += 12 + dv.getUint32(pos + 4)) out.push({ offset: pos, length: 12 + dv.getUint32(pos + 4) });
  return out;
}

async function small(n: number) {
  const sim = new SimFs(21);
  const s = await Store.open({ dir: '/db', fs: sim });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await s.append(new Coordinate(`e${i % 2}`, 's'), Tick, { i })).eventId);
  return { sim, s, ids };
}

describe('verifyChain at scale and against foreign frames (INV-CHAIN-RECOMPUTE)', () => {
  it('reports progress every 4096 events and can be aborted between them', async () => {
    const sim = new SimFs(8);
    const s = await Store.open({ dir: '/db', fs: sim, sync: 'none' });
    for (let b = 0; b < 3; b++) await s.appendBatch(Array.from({ length: 1500 }, (_, i) => ({ coord: new Coordinate(`e${i % 7}`, 's'), kind: Tick, payload: { i } })));
    await s.sync();
    const progress: [number, number][] = [];
    const r = await s.verifyChain({ onProgress: (d, t) => progress.push([d, t]) });
    expect(r.intact).toBe(true);
    expect(r.eventsChecked).toBe(4500);
    expect(progress).toEqual([
      [4096, 4500],
      [4500, 4500],
    ]);
    const ac = new AbortController();
    const aborted = await s.verifyChain({ signal: ac.signal, onProgress: () => ac.abort() }).catch((e: unknown) => e);
    expect(aborted).toMatchObject({ code: 'ERR_ABORTED', message: 'verifyChain was aborted' });
    await s.close();
  });

  it('a frame that holds another event than the one committed there is named, and the committed one is missing', async () => {
    const { sim, s, ids } = await small(4);
    const f = spans(sim.inspect(SEG)!.current)[1]!;
    const bytes = sim.inspect(SEG)!.current;
    const frame = bytes.slice(f.offset, f.offset + f.length);
    const at = Buffer.from(frame).indexOf(Buffer.from(ids[1]!, 'hex'));
    expect(at).toBeGreaterThan(0);
    const forged = frame.slice();
    forged[at + 15]! ^= 1;
    new DataView(forged.buffer).setUint32(8, crc32(forged.subarray(12)));
    for (let i = 0; i < forged.length; i++) if (forged[i] !== frame[i]) sim.corrupt(SEG, f.offset + i, forged[i]! ^ frame[i]!);
    const forgedId = Buffer.from(forged.subarray(at, at + 16)).toString('hex');
    const r = await s.verifyChain();
    expect(r.corruptFrames).toEqual([{ file: SEG, offset: f.offset, reason: `frame holds event ${forgedId}, not the committed ${ids[1]}` }]);
    expect(r.missingEvents).toEqual([ids[1]]);
    expect(r.intact).toBe(false);
    // The same damage without a fixed CRC is a CRC failure that names no event.
    sim.corrupt(SEG, f.offset + 8, 0xff);
    const r2 = await s.verifyChain();
    expect(r2.corruptFrames).toEqual([{ file: SEG, offset: f.offset, reason: 'frame CRC mismatch' }]);
    await s.close();
  });

  it('events cut off the end of the file are missing — alone, or after a damaged header', async () => {
    const { sim, s, ids } = await small(4);
    const all = spans(sim.inspect(SEG)!.current);
    const f = await sim.open(SEG, { write: true });
    await f.truncate(all[3]!.offset);
    await f.close();
    const r = await s.verifyChain();
    expect(r).toMatchObject({ missingEvents: [ids[3]], corruptFrames: [], contentHashMismatches: [], danglingLinks: [], signatureFailures: [], intact: false, eventsChecked: 3 });
    const g = await sim.open(SEG, { write: true });
    await g.truncate(all[2]!.offset + 5);
    await g.close();
    const r2 = await s.verifyChain();
    expect(r2.corruptFrames).toEqual([{ file: SEG, offset: all[2]!.offset, reason: 'damaged frame header' }]);
    expect(r2.missingEvents).toEqual([ids[2], ids[3]]);
    await s.close();
  });
});

describe('compaction records: trust and bounds (INV-COMPACT-SWAP)', () => {
  const entry: CompactionEntry = {
    compactionId: 'c',
    strategy: 'retention',
    mergedId: 1,
    sources: [1, 2],
    removed: [{ globalSequence: 3, id: new Uint8Array(16).fill(1), contentHash: new Uint8Array(32).fill(2), leaf: undefined }],
  };
  const signer = signerFromSeed(new Uint8Array(32).fill(5));
  const other = signerFromSeed(new Uint8Array(32).fill(6));

  it('trusts a signed entry only under its key, an unsigned one only in a keyless store', () => {
    const signed = signEntry(entry, signer);
    expect(signEntry(entry, undefined)).toBe(entry);
    expect(signed.signature?.length).toBe(64);
    expect(entryTrusted(entry, [])).toBe(true);
    expect(entryTrusted(entry, [signer.publicKey])).toBe(false);
    expect(entryTrusted(signed, [signer.publicKey])).toBe(true);
    expect(entryTrusted(signed, [other.publicKey, signer.publicKey])).toBe(true);
    expect(entryTrusted(signed, [other.publicKey])).toBe(false);
    expect(entryTrusted(signed, [])).toBe(false);
    expect(entryTrusted({ ...signed, sources: [1, 3] }, [signer.publicKey])).toBe(false);
    const { keyId: _k, ...noKeyId } = signed;
    const { signature: _s, ...noSignature } = signed;
    expect(entryTrusted(noKeyId, [])).toBe(true);
    expect(entryTrusted(noSignature, [signer.publicKey])).toBe(false);
    const forgedKey = signEntry(entry, other);
    expect(entryTrusted({ ...forgedKey, keyId: signed.keyId! }, [signer.publicKey])).toBe(false);
  });

  it('maxSequence is the largest removed sequence, whatever the order entries came in', () => {
    const set = new RemovedSet();
    set.addEntry({ ...entry, removed: [9, 4, 7].map((g) => ({ ...entry.removed[0]!, globalSequence: g })) }, true);
    expect(set.maxSequence()).toBe(9);
    expect(set.explains(3, 5)).toBe(true);
    expect(set.explains(6, 10)).toBe(false);
  });

  it('a 12-byte image is a header with an empty body, not a short header', () => {
    const header = (magic: string) => {
      const b = new Uint8Array(12);
      b.set(new TextEncoder().encode(magic));
      new DataView(b.buffer).setUint16(6, 1, true);
      new DataView(b.buffer).setUint32(8, crc32(new Uint8Array(0)), true);
      return b;
    };
    expect(() => decodeCompactionLog(header('BPCLOG'), 'l')).toThrow(/body does not decode/);
    expect(() => decodeMarker(header('BPCMPT'), 'm')).toThrow(/body does not decode/);
  });
});
