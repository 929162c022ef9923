// verifyChain's report under each kind of on-disk damage, and the Merkle proofs behind receipts
// (INV-CHAIN-RECOMPUTE, INV-READ-NOT-TRUSTING): each finding lands in its own list, named exactly.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { EMPTY_NODE, keyIdOf, merkleNode } from '../src/receipt/cover.js';
import { merkleTree, rootFromProof } from '../src/receipt/merkle.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 3, typeId: 7, name: 'VerifyNote' });
const SEG = '/db/000001.bps';

interface Span {
  readonly offset: number;
  readonly length: number;
}

/** Frame spans of a segment, by walking the headers. */
function spans(bytes: Uint8Array): Span[] {
  const out: Span[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 32; pos + 12 <= bytes.length; ) {
    const length = 12 + dv.getUint32(pos + 4);
    out.push({ offset: pos, length });
    pos += length;
  }
  return out;
}

async function store(signed: boolean) {
  const sim = new SimFs(5);
  let clock = 1_700_000_000_000;
  const opts = { dir: '/db', fs: sim, now: () => (clock += 1), ...(signed ? { signingKey: new Uint8Array(32).fill(4) } : {}) };
  const s = await Store.open(opts);
  const ids: string[] = [];
  for (let n = 0; n < 5; n++) ids.push((await s.append(new Coordinate(n % 2 === 0 ? 'a' : 'b', 's'), Note, { n, text: `payload-${n}` })).eventId);
  return { sim, s, ids, opts };
}

/** Rewrites bytes of one frame in the segment on "disk" (both copies), optionally fixing its CRC. */
function tamper(sim: SimFs, span: Span, edit: (frame: Uint8Array) => void, fixCrc: boolean): void {
  const bytes = sim.inspect(SEG)!.current;
  const frame = bytes.slice(span.offset, span.offset + span.length);
  edit(frame);
  if (fixCrc) new DataView(frame.buffer).setUint32(8, crc32(frame.subarray(12)));
  for (let i = 0; i < frame.length; i++) {
    const x = frame[i]! ^ bytes[span.offset + i]!;
    if (x !== 0) sim.corrupt(SEG, span.offset + i, x);
  }
}

/** Index of `needle` inside `hay`, from `from`. */
const find = (hay: Uint8Array, needle: string, from = 0) => Buffer.from(hay).indexOf(needle, from);

describe('verifyChain under damage (INV-CHAIN-RECOMPUTE)', () => {
  it('an intact store reports every event and progress', async () => {
    const { s } = await store(true);
    const progress: [number, number][] = [];
    const r = await s.verifyChain({ onProgress: (d, t) => progress.push([d, t]) });
    expect(r).toEqual({
      eventsChecked: 5,
      contentHashMismatches: [],
      danglingLinks: [],
      gaps: [],
      corruptFrames: [],
      missingEvents: [],
      signatureFailures: [],
      signaturesChecked: 5,
      keyIds: [keyIdOf(s.publicKey!)],
      headersUnverified: 0,
      directoryDamage: [],
      intact: true,
    });
    expect(progress[progress.length - 1]).toEqual([5, 5]);
    const ac = new AbortController();
    ac.abort();
    await expect(s.verifyChain({ signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await s.close();
  });

  it('a flipped payload byte is a CRC failure naming the event and a content hash mismatch', async () => {
    const { sim, s, ids } = await store(false);
    const f = spans(sim.inspect(SEG)!.current)[2]!;
    tamper(sim, f, (b) => (b[find(b, 'payload-2')]! ^= 0x20), false);
    const r = await s.verifyChain();
    expect(r.intact).toBe(false);
    expect(r.corruptFrames).toEqual([{ file: SEG, offset: f.offset, reason: 'frame CRC mismatch', eventId: ids[2] }]);
    expect(r.contentHashMismatches).toEqual([ids[2]]);
    expect(r.eventsChecked).toBe(5);
    expect(r.danglingLinks).toEqual([]);
    await expect(s.get(ids[2]!)).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    await s.close();
  });

  it('a rewritten payload with a fixed CRC reads back (a read trusts the CRC) but verifyChain names it', async () => {
    const { sim, s, ids } = await store(false);
    const f = spans(sim.inspect(SEG)!.current)[1]!;
    tamper(sim, f, (b) => (b[find(b, 'payload-1') + 8] = 0x39), true);
    const e = await s.get(ids[1]!);
    expect((e.payload as { text: string }).text).toBe('payload-9');
    const r = await s.verifyChain();
    expect(r.corruptFrames).toEqual([]);
    expect(r.contentHashMismatches).toEqual([ids[1]]);
    expect(r.intact).toBe(false);
    await s.close();
  });

  it('a rewritten prevHash is a dangling link of that event only; its successor still links', async () => {
    const { sim, s, ids } = await store(false);
    const f = spans(sim.inspect(SEG)!.current)[2]!;
    tamper(sim, f, (b) => (b[find(b, 'ph') + 4]! ^= 1), true);
    const r = await s.verifyChain();
    expect(r.danglingLinks).toEqual([ids[2]]);
    expect(r.contentHashMismatches).toEqual([]);
    expect(r.gaps).toEqual([]);
    expect(r.intact).toBe(false);
    await s.close();
  });

  it('a destroyed frame header is reported once, the walk resynchronises, the event is missing', async () => {
    const { sim, s, ids } = await store(false);
    const all = spans(sim.inspect(SEG)!.current);
    tamper(sim, all[1]!, (b) => (b[0] = 0), false);
    const r = await s.verifyChain();
    expect(r.corruptFrames).toEqual([{ file: SEG, offset: all[1]!.offset, reason: 'damaged frame header' }]);
    expect(r.missingEvents).toEqual([ids[1]]);
    expect(r.eventsChecked).toBe(4);
    // Event 3 follows the missing event 1 on entity b: its link is judged against what was found.
    expect(r.danglingLinks).toEqual([ids[3]]);
    await s.close();
  });

  it('a frame length running past the committed end, and a body that does not decode, are named', async () => {
    const { sim, s, ids } = await store(false);
    const all = spans(sim.inspect(SEG)!.current);
    tamper(sim, all[4]!, (b) => new DataView(b.buffer).setUint32(4, 1_000_000), false);
    tamper(sim, all[3]!, (b) => (b[12] = 0xc1), true);
    const r = await s.verifyChain();
    expect(r.corruptFrames).toEqual([
      { file: SEG, offset: all[3]!.offset, reason: expect.stringMatching(/^undecodable frame: /) as unknown as string },
      { file: SEG, offset: all[4]!.offset, reason: 'damaged frame header' },
    ]);
    expect(r.missingEvents).toEqual([ids[3], ids[4]]);
    await s.close();
  });

  it('in a signed store, a rewritten timestamp (CRC fixed) fails its group signature; a damaged seal is named', async () => {
    const { sim, s, ids } = await store(true);
    const all = spans(sim.inspect(SEG)!.current);
    // Frames alternate event, seal (one event per group here).
    tamper(sim, all[2]!, (b) => (b[find(b, 'ts') + 10]! ^= 1), true); // the low byte of the u64 committedAt
    tamper(sim, all[7]!, (b) => (b[b.length - 1]! ^= 1), false);
    const r = await s.verifyChain();
    expect(r.contentHashMismatches).toEqual([]);
    // The index (read at open) still holds the original time: the frame no longer matches it.
    expect(r.corruptFrames).toEqual([
      { file: SEG, offset: all[2]!.offset, reason: "the index's committedAt differs from the frame", eventId: ids[1] },
      { file: SEG, offset: all[7]!.offset, reason: 'seal frame CRC mismatch' },
    ]);
    expect(r.signatureFailures).toEqual([ids[1], ids[3]]);
    expect(r.intact).toBe(false);
    await s.close();
  });

  it('frames beyond the committed end are ignored; a copy of an event is not counted twice', async () => {
    const { sim, s } = await store(false);
    const bytes = sim.inspect(SEG)!.current;
    const last = spans(bytes)[4]!;
    await s.close();
    const copy = bytes.slice(last.offset, last.offset + last.length);
    const fs2 = new SimFs(9);
    fs2.putFile(SEG, new Uint8Array([...bytes, ...copy]));
    const err = await Store.open({ dir: '/db', fs: fs2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
  });
});

describe('Merkle proofs (receipts verify alone)', () => {
  const leaf = (i: number) => new Uint8Array(32).fill(i + 1);

  it('every leaf of trees of 1..9 leaves folds back to the root; odd nodes pair with EMPTY_NODE', () => {
    for (let n = 1; n <= 9; n++) {
      const leaves = Array.from({ length: n }, (_, i) => leaf(i));
      const tree = merkleTree(leaves);
      for (let i = 0; i < n; i++) {
        const proof = tree.proof(i);
        expect(proof.index).toBe(i);
        expect(proof.siblings.length).toBe(Math.ceil(Math.log2(n)));
        expect(rootFromProof(leaves[i]!, proof)).toEqual(tree.root);
        expect(rootFromProof(leaf(99), proof)).not.toEqual(tree.root);
      }
    }
    expect(merkleTree([leaf(0)]).root).toEqual(leaf(0));
    expect(merkleTree([leaf(0), leaf(1)]).root).toEqual(merkleNode(leaf(0), leaf(1)));
    expect(merkleTree([leaf(0), leaf(1), leaf(2)]).root).toEqual(merkleNode(merkleNode(leaf(0), leaf(1)), merkleNode(leaf(2), EMPTY_NODE)));
    expect(merkleTree([leaf(0), leaf(1), leaf(2)]).proof(2).siblings).toEqual([EMPTY_NODE, merkleNode(leaf(0), leaf(1))]);
    expect(() => merkleTree([])).toThrow(RangeError);
  });

  it('refuses malformed proofs instead of folding them', () => {
    const tree = merkleTree([leaf(0), leaf(1), leaf(2), leaf(3)]);
    const p = tree.proof(3);
    expect(rootFromProof(leaf(3), { index: -1, siblings: p.siblings })).toBeUndefined();
    expect(rootFromProof(leaf(3), { index: 1.5, siblings: p.siblings })).toBeUndefined();
    expect(rootFromProof(leaf(3), { index: 4, siblings: p.siblings })).toBeUndefined();
    expect(rootFromProof(leaf(3), { index: 3, siblings: [p.siblings[0]!] })).toBeUndefined();
    expect(rootFromProof(leaf(3), { index: 1, siblings: [p.siblings[0]!] })).toEqual(merkleNode(p.siblings[0]!, leaf(3)));
    expect(rootFromProof(leaf(3), { index: 3, siblings: [p.siblings[0]!, new Uint8Array(31)] })).toBeUndefined();
    expect(rootFromProof(leaf(3), { index: 0, siblings: Array.from({ length: 53 }, () => leaf(0)) })).toBeUndefined();
    expect(rootFromProof(leaf(3), { index: 0, siblings: Array.from({ length: 52 }, () => leaf(0)) })).toBeDefined();
    expect(rootFromProof(leaf(3), { index: 0, siblings: [] })).toEqual(leaf(3));
  });
});
