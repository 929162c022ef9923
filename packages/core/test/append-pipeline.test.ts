// The append pipeline's steps, each seen from outside: a group is sequenced against committed state and
// linked per entity, written as one write, published to the index only after the write, and a group that
// fails to write or to sign is rejected whole and leaves the index as it was.
import { describe, expect, it } from 'vitest';
import { ResidentIndex } from '../src/event-index/resident-index.js';
import { signerFromSeed, type ReceiptSigner } from '../src/receipt/sign.js';
import type { SegmentSet } from '../src/segment/set.js';
import type { SegmentWriter } from '../src/segment/writer.js';
import { estimatedBytes, FRAME_OVERHEAD_ESTIMATE, type EventDraft } from '../src/store/append-intent.js';
import { rawDraft } from '../src/store/append.js';
import { AppendPipeline } from '../src/store/append-pipeline.js';
import { Admission } from '../src/store/admission.js';

const limits = { payloadMaxBytes: 1 << 20, registry: undefined, now: 1_000 };
const draft = (entity: string, byte: number): EventDraft =>
  rawDraft({ coord: { entity, scope: 's' }, kind: { category: 1, typeId: 1 }, bytes: new Uint8Array([byte]), limits });

/** Frames in the bytes a group writes (its frames are laid end to end, in one or more chunks): by their headers' lengths. */
function frameCount(chunks: readonly Uint8Array[]): number {
  const all = Buffer.concat(chunks);
  let n = 0;
  for (let at = 0; at < all.length; at += 12 + all.readUInt32BE(at + 4)) n++;
  return n;
}

function pipeline(opts: { fail?: boolean; signer?: ReceiptSigner; downgrade?: boolean; hold?: Promise<void> } = {}) {
  const index = new ResidentIndex();
  const writes: { frames: number; indexedBefore: number }[] = [];
  const sizes: [number, number][] = [];
  let landed = 0;
  const writer = {
    async writeGroup(chunks: readonly Uint8Array[]) {
      writes.push({ frames: frameCount(chunks), indexedBefore: index.size });
      if (opts.hold !== undefined) await opts.hold;
      if (opts.fail === true) throw new Error('disk on fire');
      return { segmentId: 1, offset: 32 };
    },
  } as unknown as SegmentWriter;
  const segments = { setSize: (id: number, end: number) => sizes.push([id, end]) } as unknown as SegmentSet;
  const p = new AppendPipeline(
    {
      dir: '/pipeline-test',
      index,
      keyset: undefined,
      keyStore: undefined,
      signer: opts.signer,
      signingDowngradeAllowed: opts.downgrade === true,
      writer,
      segments,
      now: () => 5_000,
      onWarning: () => undefined,
      replay: () => Promise.reject(new Error('no replay in this test')),
      landed: () => landed++,
      admission: new Admission(1 << 30),
    },
    { nextGlobal: 1, lastCommittedAt: 0 },
  );
  return { p, index, writes, sizes, landed: () => landed };
}

describe('AppendPipeline', () => {
  it('sequences and links a group, writes it once, then publishes it to the index', async () => {
    const { p, index, writes, sizes, landed } = pipeline();
    const [a, b, c] = await Promise.all([p.appendOne(draft('x', 1), undefined), p.appendOne(draft('x', 2), undefined), p.appendOne(draft('y', 3), undefined)]);
    expect(writes).toEqual([{ frames: 3, indexedBefore: 0 }]);
    expect([a!.globalSequence, b!.globalSequence, c!.globalSequence]).toEqual([1n, 2n, 3n]);
    expect([a!.entitySequence, b!.entitySequence, c!.entitySequence]).toEqual([1n, 2n, 1n]);
    expect(index.getResident(b!.eventId)!.prevHash).toEqual(index.getResident(a!.eventId)!.contentHash);
    const last = index.getResident(c!.eventId)!;
    expect(sizes).toEqual([[1, last.offset + last.length]]);
    expect(landed()).toBe(1);
    expect(p.lastCommittedAt).toBe(5_000);
  });

  it('refuses a stale expectedSequence in step 1 and writes the rest of the group', async () => {
    const { p, writes } = pipeline();
    const ok = p.appendOne(draft('x', 1), 0);
    const stale = p.appendOne(draft('x', 2), 0);
    await expect(ok).resolves.toMatchObject({ entitySequence: 1n });
    await expect(stale).rejects.toMatchObject({ code: 'ERR_SEQUENCE_CONFLICT' });
    expect(writes).toEqual([{ frames: 1, indexedBefore: 0 }]);
  });

  it('a failed write rejects every intent of the group and publishes nothing', async () => {
    const { p, index, sizes, landed } = pipeline({ fail: true });
    const results = await Promise.allSettled([p.appendOne(draft('x', 1), undefined), p.appendBatch([draft('y', 2), draft('y', 3)])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_IO' });
    expect(index.size).toBe(0);
    expect(sizes).toEqual([]);
    expect(landed()).toBe(0);
  });

  it('a signed group carries one seal frame; a refusing signer fails the group closed unless downgrade is allowed', async () => {
    const signed = pipeline({ signer: signerFromSeed(new Uint8Array(32).fill(7)) });
    const r = await signed.p.appendBatch([draft('x', 1), draft('x', 2)]);
    expect(signed.writes).toEqual([{ frames: 3, indexedBefore: 0 }]);
    expect(r[0]!.signature).toBeDefined();

    const refusing: ReceiptSigner = { publicKey: new Uint8Array(32), sign: () => { throw new Error('hsm offline'); } };
    const closed = pipeline({ signer: refusing });
    await expect(closed.p.appendOne(draft('x', 1), undefined)).rejects.toMatchObject({ code: 'ERR_SIGNING_FAILED' });
    expect(closed.writes).toEqual([]);

    const downgraded = pipeline({ signer: refusing, downgrade: true });
    const d = await downgraded.p.appendOne(draft('x', 1), undefined);
    expect(d.signature).toBeUndefined();
    expect(downgraded.index.getResident(d.eventId)!.extensions?.has('batpak.signing.downgrade')).toBe(true);
  });

  it('a group the signer refuses behind one in flight leaves no trace: the group after it links to the one before', async () => {
    // Unkeyed events name no ids a later intent could look for, so the refused group's outcome is undone by its heads.
    const good = signerFromSeed(new Uint8Array(32).fill(7));
    let calls = 0;
    const flaky: ReceiptSigner = { publicKey: good.publicKey, sign: (m) => (++calls === 2 ? (() => { throw new Error('hsm hiccup'); })() : good.sign(m)) };
    let release!: () => void;
    const { p } = pipeline({ signer: flaky, hold: new Promise<void>((r) => (release = r)) });
    const settle = () => new Promise((r) => setImmediate(r));
    const a = p.appendOne(draft('x', 1), undefined);
    await settle(); // A is being written
    const b = p.appendOne(draft('x', 2), undefined);
    const bFailed = expect(b).rejects.toMatchObject({ code: 'ERR_SIGNING_FAILED' });
    await settle(); // B was prepared (and refused) behind A
    const c = p.appendOne(draft('x', 3), undefined);
    await settle();
    release();
    const [ra, rc] = await Promise.all([a, c]);
    await bFailed;
    expect(ra!.globalSequence).toBe(1n);
    expect([rc!.globalSequence, rc!.entitySequence]).toEqual([2n, 2n]);
    expect(rc!.prevHash).toEqual(ra!.contentHash);
  });

  it('while a group is being written nothing of it is published or acknowledged; once written, its entries sit at the frames\' places', async () => {
    let release!: () => void;
    const { p, index, writes, sizes } = pipeline({ hold: new Promise<void>((r) => (release = r)) });
    let settled = false;
    const pending = p.appendBatch([draft('x', 1), draft('x', 2), draft('y', 3)]).then((r) => ((settled = true), r));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    expect(index.size).toBe(0);
    expect(settled).toBe(false);
    release();
    const receipts = await pending;
    const entries = receipts.map((r) => index.getResident(r.eventId)!);
    expect(entries.map((e) => e.segmentId)).toEqual([1, 1, 1]);
    // The writer put the group at offset 32: the frames follow one another from there.
    expect(entries[0]!.offset).toBe(32);
    expect(entries[1]!.offset).toBe(32 + entries[0]!.length);
    expect(entries[2]!.offset).toBe(entries[1]!.offset + entries[1]!.length);
    expect(sizes).toEqual([[1, entries[2]!.offset + entries[2]!.length]]);
  });

  it('a group whose write fails after its entries and receipts were built publishes none of them', async () => {
    let release!: () => void;
    const { p, index, sizes, landed } = pipeline({ fail: true, hold: new Promise<void>((r) => (release = r)) });
    const pending = Promise.allSettled([p.appendBatch([draft('x', 1), draft('x', 2)])]);
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    release();
    const [result] = await pending;
    expect(result!.status).toBe('rejected');
    expect(index.size).toBe(0);
    expect(sizes).toEqual([]);
    expect(landed()).toBe(0);
  });

  it('sizes groups by payload plus a fixed frame overhead estimate', () => {
    expect(estimatedBytes([draft('x', 1), draft('y', 2)])).toBe(2 + 2 * FRAME_OVERHEAD_ESTIMATE);
  });
});
