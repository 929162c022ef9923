// INV-RUST-READ-VERIFY: Rust-format directories built the way Rust's writer lays them out — several segments,
// SDX2/SDX3 footers, batches, lanes, 10/11-key headers, torn tails — read back with the rules of RUST-INTEROP.md § Segment and frame rules.
import { describe, expect, it } from 'vitest';
import { cstr, cstruct, cuint, encodeCanonical } from '../src/encoding/canonical.js';
import { toHex } from '../src/encoding/hex.js';
import { isBatpakError } from '../src/errors.js';
import { RustLogBuilder, type RustBuildEvent } from './helpers/rust-log-builder.js';
import { RustKinds } from '../src/rust/format.js';
import { openRustStore, type RustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';
import type { StoredEvent } from '../src/types.js';

const mp = (n: number): Uint8Array => encodeCanonical(cstruct([['n', cuint(n)], ['note', cstr(`event ${n}`)]]));
const ev = (entity: string, n: number, extra: Partial<RustBuildEvent> = {}): RustBuildEvent => ({
  entity,
  scope: 'scope:test',
  kind: RustKinds.DATA,
  payload: mp(n),
  ...extra,
});

async function collect(it: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function open(files: Map<string, Uint8Array>, seed = 1): Promise<{ store: RustStore; fs: SimFs }> {
  const fs = new SimFs(seed);
  for (const [name, bytes] of files) fs.putFile(`/rust/${name}`, bytes);
  return { store: await openRustStore('/rust', { fs }), fs };
}

async function refusal(files: Map<string, Uint8Array>): Promise<{ file: string; offset: number; message: string }> {
  try {
    await open(files);
  } catch (err) {
    if (isBatpakError(err, 'ERR_CORRUPT_SEGMENT')) return { file: err.details.file as string, offset: err.details.offset as number, message: err.message };
    throw err;
  }
  throw new Error('expected ERR_CORRUPT_SEGMENT');
}

/** Three segments: two sealed, the last open; lanes, a batch and a second entity. */
function threeSegments(): { b: RustLogBuilder; ids: string[] } {
  const b = new RustLogBuilder();
  const ids: string[] = [];
  const add = (x: { eventId: Uint8Array }) => ids.push(toHex(x.eventId));
  add(b.append(ev('order:1', 1)));
  add(b.append(ev('order:1', 2, { lane: 2, depth: 1 })));
  add(b.append(ev('order:2', 3)));
  b.rotate();
  for (const x of b.batch([ev('order:1', 4), ev('order:2', 5), ev('order:1', 6)])) add(x);
  b.rotate();
  add(b.append(ev('order:1', 7, { lane: 2 })));
  add(b.append(ev('order:3', 8, { payloadVersion: 2 })));
  return { b, ids };
}

describe('Rust directories with several segments (INV-RUST-READ-VERIFY)', () => {
  it('INV-RUST-READ-VERIFY: trusted SDX3 footers supply sequences; the open segment is scanned; chains are per (entity, lane)', async () => {
    const { b, ids } = threeSegments();
    const { store } = await open(b.files());
    const events = await collect(store.query());
    expect(events.map((e) => e.header.eventId)).toEqual(ids);
    expect(events.map((e) => e.header.globalSequence)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    // Segment 2 ends with a COMMIT marker, which no SIDX entry covers: like Rust's fast path, the footer is
    // then not used for sequences and the segment is frame-scanned (same numbers, as they are dense).
    expect(store.segments().map((s) => [s.footer, s.footerTrusted, s.sequenceSource])).toEqual([
      ['SDX3', true, 'sidx'],
      ['SDX3', true, 'scan'],
      ['none', false, 'scan'],
    ]);
    expect(events.map((e) => (e.payload as { n: number }).n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Per-(entity, lane) clocks: order:1 lane 0 → 0, 1, 2; lane 2 → 0, 1.
    expect(events.filter((e) => e.coordinate.entity === 'order:1').map((e) => e.header.entitySequence)).toEqual([0n, 0n, 1n, 2n, 1n]);
    expect(events[3]!.header.batch).toEqual({ first: 3n, index: 0, count: 3 });
    expect(events[5]!.header.batch).toEqual({ first: 3n, index: 2, count: 3 });
    expect(events[7]!.header.payloadVersion).toBe(2);
    expect(store.rustEvent(ids[7]!).header.wire.payloadVersion).toBe(true);
    expect(await store.verifyChain()).toMatchObject({ intact: true, eventsChecked: 8 });
    // The lane-2 event's parent is the lane-2 head, not the entity's latest event.
    const walk = await store.walkAncestors(ids[6]!);
    expect(walk.ancestors.map((e) => e.header.eventId)).toEqual([ids[6], ids[1]]);
    expect(walk.boundary.kind).toBe('reached-genesis');
    expect(store.warnings).toEqual([]);
  });

  it('INV-RUST-READ-VERIFY: a trusted SDX3 footer keeps the original sequences (a hole left by a failed batch), and the scan continues after them', async () => {
    const b = new RustLogBuilder();
    const a = b.append(ev('h:1', 1));
    const c = b.append(ev('h:1', 2));
    b.rotate();
    const d = b.append(ev('h:1', 3));
    const files = b.files(['SDX3', 'none']);
    // Rewrite the second entry's global_sequence 1 → 5 (sequences 1..4 were reserved by a batch that failed) and re-seal the CRC.
    const seg = files.get('000001.fbat')!.slice();
    const dv = new DataView(seg.buffer);
    const count = dv.getUint32(seg.length - 8, true);
    const entriesStart = seg.length - 16 - 4 - count * 162;
    dv.setBigUint64(entriesStart + 162 + 122, 5n, true);
    const { crc32 } = await import('node:zlib');
    const tableStart = Number(dv.getBigUint64(seg.length - 16, true));
    dv.setUint32(seg.length - 20, crc32(seg.subarray(tableStart, seg.length - 20)), true);
    files.set('000001.fbat', seg);
    const { store } = await open(files);
    const events = await collect(store.query());
    expect(events.map((e) => [e.header.eventId, e.header.globalSequence])).toEqual([
      [toHex(a.eventId), 0n],
      [toHex(c.eventId), 5n],
      [toHex(d.eventId), 6n],
    ]);
    expect(store.rustEvent(toHex(c.eventId)).sequenceSource).toBe('sidx');
    expect(store.rustEvent(toHex(d.eventId)).sequenceSource).toBe('scan');
    expect((await collect(store.query({ after: 4n }))).map((e) => e.header.globalSequence)).toEqual([5n, 6n]);
  });

  it('INV-RUST-RECOVERY-RULE: an SDX2 footer (no CRC) is untrusted: on the newest segment frames are CRC-scanned, on a sealed one the segment is refused', async () => {
    const { b, ids } = threeSegments();
    const { store } = await open(b.files(['SDX3', 'SDX3', 'SDX2']));
    const events = await collect(store.query());
    expect(events.map((e) => e.header.eventId)).toEqual(ids);
    expect(events.map((e) => e.header.globalSequence)).toEqual([0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n]);
    expect(store.segments().map((s) => [s.footer, s.footerTrusted, s.sequenceSource, s.truncationEvidence])).toEqual([
      ['SDX3', true, 'sidx', undefined],
      ['SDX3', true, 'scan', undefined], // its entries skip the batch markers, so Rust's fast path does not apply
      ['SDX2', false, 'scan', undefined],
    ]);
    expect((await store.verifyChain()).intact).toBe(true);

    // Rust (since its PR #192) refuses a sealed segment whose footer cannot be trusted: nothing proves its tail complete.
    const sealed = await refusal(threeSegments().b.files(['SDX2', 'SDX2', 'none']));
    expect(sealed.file).toBe('/rust/000001.fbat');
    expect(sealed.message).toMatch(/sealed segment under an untrusted SDX2 footer/);
  });

  it('INV-RUST-RECOVERY-RULE: an SDX3 footer whose CRC fails is untrusted: the newest segment is CRC-scanned, a sealed one refused; a trusted footer that disagrees with the frames is refused', async () => {
    const breakCrc = (seg: Uint8Array): Uint8Array => {
      const out = seg.slice();
      out[out.length - 20 - 3]! ^= 0x40; // inside the last SIDX entry (covered by the footer CRC)
      return out;
    };
    const { b } = threeSegments();
    const files = b.files(['SDX3', 'SDX3', 'SDX3']);
    files.set('000003.fbat', breakCrc(files.get('000003.fbat')!));
    const { store } = await open(files);
    expect(store.segments()[2]).toMatchObject({ footer: 'SDX3', footerTrusted: false, sequenceSource: 'scan' });
    expect(store.warnings.join('\n')).toMatch(/footer CRC mismatch/);
    expect((await store.verifyChain()).intact).toBe(true);

    const older = threeSegments().b.files();
    older.set('000001.fbat', breakCrc(older.get('000001.fbat')!));
    expect((await refusal(older)).message).toMatch(/sealed segment under an untrusted SDX3 footer/);

    // Make the entry disagree with its frame and fix up the footer CRC: a trusted lie is tampering.
    const { b: b2 } = threeSegments();
    const forged = b2.files();
    const seg = forged.get('000001.fbat')!.slice();
    const dv = new DataView(seg.buffer);
    const count = dv.getUint32(seg.length - 8, true);
    const entriesStart = seg.length - 16 - 4 - count * 162;
    seg[entriesStart]! ^= 0x01; // the first entry's event id (little-endian low byte)
    const { crc32 } = await import('node:zlib');
    const tableStart = Number(dv.getBigUint64(seg.length - 16, true));
    dv.setUint32(seg.length - 20, crc32(seg.subarray(tableStart, seg.length - 20)), true);
    forged.set('000001.fbat', seg);
    const r = await refusal(forged);
    expect(r.file).toBe('/rust/000001.fbat');
    expect(r.message).toMatch(/trusted SDX3 footer does not match/);
  });

  it('a future SIDX footer version (SDX4) is refused, not scanned through', async () => {
    const { b } = threeSegments();
    const files = b.files();
    const first = files.get('000001.fbat')!.slice();
    first[first.length - 1] = '4'.charCodeAt(0);
    files.set('000001.fbat', first);
    const r = await refusal(files);
    expect(r).toMatchObject({ file: '/rust/000001.fbat', offset: first.length - 16 });
    expect(r.message).toMatch(/SDX4 is newer/);
  });

  it('INV-RUST-READ-VERIFY: a torn last frame is ignored in the newest segment and refused in an older one', async () => {
    const b = new RustLogBuilder();
    b.append(ev('a:1', 1));
    b.append(ev('a:1', 2));
    const third = b.append(ev('a:1', 3));
    const torn = b.files().get('000001.fbat')!.subarray(0, third.offset + 20); // the third frame cut off mid-body
    const { store } = await open(new Map([['000001.fbat', torn]]));
    expect(store.stats().events).toBe(2n);
    expect(store.segments()[0]!.tornTail).toMatchObject({ offset: third.offset, bytes: 20 });
    expect(store.warnings.join('\n')).toMatch(/torn tail of 20 bytes/);
    expect((await store.verifyChain()).intact).toBe(true);

    // The same bytes followed by a newer segment: Rust sealed it, so the cut frame is corruption.
    const later = new RustLogBuilder();
    later.append(ev('b:1', 1));
    later.rotate();
    later.append(ev('b:1', 2));
    const two = later.files(['none', 'none']);
    two.set('000001.fbat', torn);
    expect(await refusal(two)).toMatchObject({ file: '/rust/000001.fbat', offset: third.offset });
  });

  it('INV-RUST-READ-VERIFY: a damaged length in the newest segment with valid frames after it is mid-stream corruption', async () => {
    const b = new RustLogBuilder();
    const first = b.append(ev('a:1', 1));
    const second = b.append(ev('a:1', 2));
    b.append(ev('a:1', 3));
    const files = b.files();
    const seg = files.get('000001.fbat')!.slice();
    // Length of frame 2 → huge: alone it would look like a torn tail; the valid frame 3 after it says otherwise.
    seg[second.offset]! = 0x7f;
    files.set('000001.fbat', seg);
    const r = await refusal(files);
    expect(r).toMatchObject({ file: '/rust/000001.fbat', offset: second.offset });
    expect(r.message).toMatch(/mid-stream corruption/);
    void first;
  });

  it('a newest segment that ends inside its own head holds nothing; a bad magic anywhere is refused', async () => {
    const b = new RustLogBuilder();
    b.append(ev('a:1', 1));
    b.rotate();
    const files = b.files(['SDX3', 'none']);
    files.set('000002.fbat', files.get('000002.fbat')!.subarray(0, 20));
    const { store } = await open(files);
    expect(store.stats().events).toBe(1n);
    expect(store.segments()[1]).toMatchObject({ header: undefined, frames: 0 });
    expect(store.warnings.join('\n')).toMatch(/ends inside its head/);

    const bad = b.files(['SDX3', 'none']);
    const seg = bad.get('000001.fbat')!.slice();
    seg[0] = 0x00;
    bad.set('000001.fbat', seg);
    expect(await refusal(bad)).toMatchObject({ file: '/rust/000001.fbat', offset: 0 });
  });
});

describe('Rust batch markers (INV-RUST-READ-VERIFY)', () => {
  it('INV-RUST-READ-VERIFY: a batch still open at the end of the log is discarded; committed events around it stay', async () => {
    const b = new RustLogBuilder();
    const before = b.append(ev('a:1', 1));
    b.batch([ev('a:1', 2), ev('a:1', 3)], { commit: false });
    const { store } = await open(b.files());
    expect((await collect(store.query())).map((e) => e.header.eventId)).toEqual([toHex(before.eventId)]);
    expect(store.warnings.join('\n')).toMatch(/incomplete batch at the end of the log: 2 staged item\(s\) discarded/);
  });

  it('INV-RUST-READ-VERIFY: a COMMIT with missing items discards the batch; a stray COMMIT is ignored; a nested BEGIN restarts', async () => {
    const b = new RustLogBuilder();
    b.batch([ev('a:1', 1)], { declare: 2 }); // COMMIT after 1 of 2 → discarded
    const kept = b.batch([ev('b:1', 2), ev('b:1', 3)]);
    const { store } = await open(b.files());
    const events = await collect(store.query());
    expect(events.map((e) => e.header.eventId)).toEqual(kept.map((k) => toHex(k.eventId)));
    expect(events.map((e) => e.header.globalSequence)).toEqual([0n, 1n]);
    expect(store.warnings.join('\n')).toMatch(/batch COMMIT after 1 of 2 items/);
  });

  it('INV-RUST-READ-VERIFY: a batch split across a rotation is published when its COMMIT arrives in the next segment', async () => {
    const b = new RustLogBuilder();
    b.append(ev('a:1', 1));
    const items = b.batch([ev('a:1', 2), ev('a:1', 3), ev('a:1', 4)], { rotateAfter: 1 });
    const { store } = await open(b.files(['none', 'none']));
    const events = await collect(store.query());
    expect(events.map((e) => e.header.globalSequence)).toEqual([0n, 1n, 2n, 3n]);
    expect(events.slice(1).map((e) => e.header.eventId)).toEqual(items.map((i) => toHex(i.eventId)));
    expect(events.slice(1).map((e) => e.header.batch)).toEqual([
      { first: 1n, index: 0, count: 3 },
      { first: 1n, index: 1, count: 3 },
      { first: 1n, index: 2, count: 3 },
    ]);
    expect((await store.verifyChain()).intact).toBe(true);
  });

  it('a frame whose coordinate breaks Rust\'s rules is corruption, named with its event', async () => {
    const b = new RustLogBuilder();
    const bad = b.append(ev('bad/entity', 1));
    const r = await refusal(b.files());
    expect(r).toMatchObject({ file: '/rust/000001.fbat', offset: bad.offset });
    expect(r.message).toMatch(/path-traversal/);
  });

  it('a BEGIN marker with an impossible count is refused', async () => {
    const b = new RustLogBuilder();
    b.batch([ev('a:1', 1)], { declare: 0 });
    const r = await refusal(b.files());
    expect(r.message).toMatch(/invalid batch marker count 0/);
  });
});

describe('Rust headers and links', () => {
  it('an 11-key (sealed) header decodes; get() refuses the ciphertext, getRaw() and query() do not', async () => {
    const b = new RustLogBuilder();
    const sealed = b.append(ev('s:1', 1, { payload: Uint8Array.of(0xde, 0xad, 0xbe, 0xef), encryption: { keyscopeId: Uint8Array.of(1, 0x73), nonce: new Uint8Array(24).fill(3) }, payloadVersion: 1 }));
    const { store } = await open(b.files());
    const id = toHex(sealed.eventId);
    expect(store.rustEvent(id).header.payloadEncryption).toEqual({ keyscopeId: Uint8Array.of(1, 0x73), nonce: new Uint8Array(24).fill(3) });
    await expect(store.get(id)).rejects.toMatchObject({ code: 'ERR_ENCRYPTION_NOT_CONFIGURED', details: { eventId: id } });
    expect((await store.getRaw(id)).bytes).toEqual(Uint8Array.of(0xde, 0xad, 0xbe, 0xef));
    const [e] = await collect(store.query());
    expect(e).toMatchObject({ payload: undefined, shredded: false, header: { encrypted: true } });
    expect((await store.verifyChain()).intact).toBe(true); // hashes cover the ciphertext
  });

  it("a link to an older event passes Rust's set-membership rule but not the predecessor rule", async () => {
    const b = new RustLogBuilder();
    const one = b.append(ev('x:1', 1));
    b.append(ev('x:1', 2));
    const three = b.append(ev('x:1', 3, { prevHash: one.eventHash })); // skips event 2
    const { store } = await open(b.files());
    expect(await store.verifyChain()).toMatchObject({ intact: false, danglingLinks: [toHex(three.eventId)], contentHashMismatches: [] });
    expect(await store.verifyChain({ links: 'rust' })).toMatchObject({ intact: true, danglingLinks: [] });
    // walkAncestors follows the recorded link, so the skipped event is not in the lineage.
    const walk = await store.walkAncestors(toHex(three.eventId));
    expect(walk.ancestors.map((e) => e.header.eventId)).toEqual([toHex(three.eventId), toHex(one.eventId)]);
  });

  it('a link to nothing is dangling under both rules, and the walk stops at missing-parent', async () => {
    const b = new RustLogBuilder();
    b.append(ev('x:1', 1));
    const two = b.append(ev('x:1', 2, { prevHash: new Uint8Array(32).fill(9) }));
    const { store } = await open(b.files());
    expect((await store.verifyChain()).danglingLinks).toEqual([toHex(two.eventId)]);
    expect((await store.verifyChain({ links: 'rust' })).danglingLinks).toEqual([toHex(two.eventId)]);
    expect((await store.walkAncestors(toHex(two.eventId))).boundary).toEqual({ kind: 'missing-parent', eventId: toHex(two.eventId) });
  });
});
