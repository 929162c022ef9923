// verifyChain checks signed, encrypted, extended, compacted and shredded logs in place (no frame decoded) and reads its
// committed events a page at a time, and reports exactly what the reference walk (every frame decoded, one array of
// entries) reports: each damage below is found by the in-place path itself (INV-VERIFY-FAST-PATH, INV-CHAIN-RECOMPUTE).
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store, type StoreOptions } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { verifyChain, type CommittedEvents, type VerifyChainInput } from '../src/chain/verify.js';
import { decodeCompactionLog, entryTrusted, RemovedSet } from '../src/compaction/log.js';
import { toHex } from '../src/encoding/hex.js';
import type { IndexEntry } from '../src/event-index/entry.js';
import { entryFromRecovered } from '../src/event-index/from-frame.js';
import { SealChecker } from '../src/receipt/seal-check.js';
import { leafOfFrame } from '../src/receipt/seal-check.js';
import type { EventFrame } from '../src/segment/frame.js';
import { scanSegment } from '../src/segment/scan.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 3, typeId: 11, name: 'InPlaceNote' });
const SEED = new Uint8Array(32).fill(7);

interface Log {
  readonly sim: SimFs;
  readonly segments: { id: number; path: string; committedEnd: number }[];
  readonly committed: IndexEntry[];
  readonly removed: RemovedSet;
  readonly publicKey: Uint8Array | undefined;
}

/** What a closed store left on disk: segments, committed entries read from the frames, compaction's trusted record. */
function readBack(sim: SimFs, publicKey: Uint8Array | undefined): Log {
  const segments: Log['segments'] = [];
  const committed: IndexEntry[] = [];
  for (const path of sim.listFiles().filter((p) => p.endsWith('.bps')).sort()) {
    const bytes = sim.inspect(path)!.current;
    const id = Number(path.slice(path.lastIndexOf('/') + 1, -4));
    segments.push({ id, path, committedEnd: bytes.length });
    for (const f of scanSegment(bytes, { file: path, allowTornTail: false }).frames) {
      if (f.frame.type === 0) committed.push(entryFromRecovered({ frame: f.frame, segmentId: id, offset: f.offset, length: f.length }));
    }
  }
  const removed = new RemovedSet();
  const logFile = sim.inspect('/db/compaction.log');
  const keys = publicKey === undefined ? [] : [publicKey];
  if (logFile !== null) for (const e of decodeCompactionLog(logFile.current, 'compaction.log')) removed.addEntry(e, entryTrusted(e, keys));
  return { sim, segments, committed, removed, publicKey };
}

/** Entries in pages of `size`, as a store's index hands them out. */
function paged(entries: readonly IndexEntry[], size: number, through = entries[entries.length - 1]?.globalSequence ?? 0): CommittedEvents {
  return {
    count: entries.filter((e) => e.globalSequence <= through).length,
    through,
    pages: async function* () {
      for (let i = 0; i < entries.length; i += size) yield entries.slice(i, i + size);
    },
  };
}

/** The three walks: reference (decode, array), in place over the array, in place over pages of 2. All must agree. */
async function walks(l: Log, extra: Partial<VerifyChainInput> = {}) {
  const input = (): VerifyChainInput => ({
    fs: l.sim,
    segments: l.segments,
    committed: l.committed,
    removedHashes: l.removed.hashes(),
    tombstone: (id) => l.removed.tombstone(id),
    seals: new SealChecker({
      keys: l.publicKey === undefined ? [] : [l.publicKey],
      requireSigned: l.publicKey !== undefined,
      removedLeaf: (g) => l.removed.bySequence(g)?.leaf,
      removedHeaderLeaf: (g) => l.removed.bySequence(g)?.headerLeaf,
    }),
    chunkBytes: 700,
    ...extra,
  });
  const refPaths = { inPlace: 0, decoded: 0 };
  const reference = await verifyChain({ ...input(), fastPath: false, paths: refPaths });
  const arrayPaths = { inPlace: 0, decoded: 0 };
  const array = await verifyChain({ ...input(), paths: arrayPaths });
  const pagePaths = { inPlace: 0, decoded: 0 };
  const pages = await verifyChain({ ...input(), committed: paged(l.committed, 2), paths: pagePaths });
  expect(array).toEqual(reference);
  expect(pages).toEqual(reference);
  expect(pagePaths).toEqual(arrayPaths);
  expect(refPaths.inPlace).toBe(0);
  return { report: reference, inPlace: arrayPaths.inPlace, decoded: arrayPaths.decoded };
}

/** Six appends over a and b (one with a causation extension), and a batch of three: 9 events. */
async function build(options: Partial<StoreOptions>, after?: (s: Store, ids: string[]) => Promise<void>): Promise<{ l: Log; ids: string[] }> {
  const sim = new SimFs(33);
  let clock = 1_700_000_000_000;
  const s = await Store.open({ dir: '/db', fs: sim, now: () => (clock += 1), segmentMaxBytes: 1500, ...options });
  const ids: string[] = [];
  for (let n = 0; n < 6; n++) {
    const causationId = n === 3 ? ids[1] : undefined;
    ids.push((await s.append(new Coordinate(n % 2 === 0 ? 'a' : 'b', 's'), Note, { n, text: `note ${n}` }, causationId === undefined ? {} : { causationId })).eventId);
  }
  for (const r of await s.appendBatch([0, 1, 2].map((k) => ({ coord: new Coordinate(k === 1 ? 'b' : 'a', 's'), kind: Note, payload: { n: 6 + k, text: 'batch' } })))) ids.push(r.eventId);
  await after?.(s, ids);
  const publicKey = s.publicKey;
  await s.close();
  return { l: readBack(sim, publicKey), ids };
}

/** The frame of event `id` on disk: its segment, offset and body. */
function frameOf(l: Log, id: string): { path: string; offset: number; body: Uint8Array } {
  const e = l.committed.find((x) => x.eventId === id)!;
  const path = l.segments.find((s) => s.id === e.segmentId)!.path;
  const bytes = l.sim.inspect(path)!.current;
  return { path, offset: e.offset, body: bytes.slice(e.offset + 12, e.offset + e.length) };
}

/** Rewrites event `id`'s body on disk through `edit`, fixing its CRC (damage only the fields themselves can show). */
function rewrite(l: Log, id: string, edit: (body: Uint8Array) => void): void {
  const { path, offset, body } = frameOf(l, id);
  const before = body.slice();
  edit(body);
  const crc = new Uint8Array(4);
  new DataView(crc.buffer).setUint32(0, crc32(body));
  const old = l.sim.inspect(path)!.current.slice(offset + 8, offset + 12);
  for (let i = 0; i < 4; i++) if (crc[i] !== old[i]) l.sim.corrupt(path, offset + 8 + i, crc[i]! ^ old[i]!);
  for (let i = 0; i < body.length; i++) if (body[i] !== before[i]) l.sim.corrupt(path, offset + 12 + i, body[i]! ^ before[i]!);
}

/** Offset in a body of the 32 bytes after key `ph` or `ch`. */
const hashAt = (body: Uint8Array, key: 'ph' | 'ch') => Buffer.from(body).indexOf(Buffer.from([0xa2, key.charCodeAt(0), 0x68, 0xc4, 32])) + 5;

/** Re-reads the committed entries from the (damaged) frames: an index that agrees with the disk, so only the chain can tell. */
const reindex = (l: Log): Log => ({ ...readBack(l.sim, l.publicKey), removed: l.removed });

describe('verifyChain in place (INV-VERIFY-FAST-PATH)', () => {
  it('checks a signed, encrypted log with extensions and batches wholly in place, over pages as over an array', async () => {
    const { l } = await build({ signingKey: SEED, payloadEncryption: {} });
    expect(l.committed.some((e) => e.encryption !== undefined && e.extensions !== undefined && e.batch === undefined)).toBe(true);
    const { report, inPlace, decoded } = await walks(l);
    expect(report.intact).toBe(true);
    expect(report.signaturesChecked).toBe(9);
    expect(inPlace).toBe(9);
    expect(decoded).toBe(0);
  });

  it('a rewritten encrypted payload behind a valid CRC is a content hash mismatch', async () => {
    const { l, ids } = await build({ signingKey: SEED, payloadEncryption: {} });
    rewrite(l, ids[2]!, (b) => (b[b.length - 1]! ^= 0x40));
    const { report, inPlace } = await walks(l);
    expect(report.contentHashMismatches).toEqual([ids[2]]);
    expect(inPlace).toBe(9);
  });

  it('a rewritten link, with the index agreeing, is a dangling link (plain store)', async () => {
    const { l, ids } = await build({});
    rewrite(l, ids[4]!, (b) => (b[hashAt(b, 'ph')]! ^= 1));
    const { report, inPlace } = await walks(reindex(l));
    expect(report.danglingLinks).toEqual([ids[4]]);
    expect(report.intact).toBe(false);
    expect(inPlace).toBe(9);
  });

  it('a sealed header field rewritten, with the index agreeing, fails its group signature', async () => {
    const { l, ids } = await build({ signingKey: SEED, payloadEncryption: {} });
    // The commit time of event 1 (its own group): `ts` is covered by the receipt cover, so by the seal.
    rewrite(l, ids[1]!, (b) => {
      const ts = Buffer.from(b).indexOf(Buffer.from([0xa2, 0x74, 0x73, 0xcf])) + 4;
      b[ts + 7]! ^= 1;
    });
    const { report, inPlace } = await walks(reindex(l));
    expect(report.signatureFailures).toEqual([ids[1]]);
    expect(report.contentHashMismatches).toEqual([]);
    expect(report.danglingLinks).toEqual([]);
    expect(inPlace).toBe(9);
  });

  it('an index that differs from an encrypted frame (the nonce) is reported, as by the reference walk', async () => {
    const { l, ids } = await build({ payloadEncryption: {} });
    const e = l.committed.find((x) => x.eventId === ids[0])!;
    const nonce = e.encryption!.nonce.slice();
    nonce[0]! ^= 1;
    const forged = { ...e, encryption: { ...e.encryption!, nonce } };
    const { report } = await walks({ ...l, committed: l.committed.map((x) => (x === e ? forged : x)) });
    expect(report.corruptFrames).toMatchObject([{ eventId: ids[0], reason: "the index's encryption differs from the frame" }]);
  });

  it('a frame with a broken CRC and a missing committed event are reported from pages as from the array', async () => {
    const { l, ids } = await build({ signingKey: SEED });
    const { path, offset } = frameOf(l, ids[5]!);
    l.sim.corrupt(path, offset + 40, 0x10);
    const gone = { ...l.committed[3]!, globalSequence: l.committed[3]!.globalSequence, eventId: 'f'.repeat(32), idBytes: new Uint8Array(16).fill(0xff) };
    const { report } = await walks({ ...l, committed: [...l.committed.slice(0, 3), gone, ...l.committed.slice(4)] });
    expect(report.corruptFrames.map((c) => c.reason)).toContain('frame CRC mismatch');
    expect(report.intact).toBe(false);
  });

  it('pages past the snapshot are not checked', async () => {
    const { l } = await build({});
    const through = l.committed[4]!.globalSequence;
    const cut = l.committed.filter((e) => e.globalSequence <= through);
    const ref = await verifyChain({ fs: l.sim, segments: l.segments, committed: cut, removedHashes: new Set(), fastPath: false });
    const progress: [number, number][] = [];
    const fast = await verifyChain({ fs: l.sim, segments: l.segments, committed: paged(l.committed, 3, through), removedHashes: new Set(), onProgress: (d, t) => progress.push([d, t]) });
    expect(fast).toEqual(ref);
    expect(fast.eventsChecked).toBe(5);
    expect(progress.at(-1)).toEqual([5, 5]);
  });

  it('hands an observer the same frames in place as decoded', async () => {
    const { l } = await build({ signingKey: SEED, payloadEncryption: {} });
    const seen = (into: string[]) => (f: EventFrame) => into.push(`${f.globalSequence}:${toHex(f.id)}:${toHex(leafOfFrame(f))}:${f.flags}:${f.kind}`);
    const a: string[] = [];
    const b: string[] = [];
    const paths = { inPlace: 0, decoded: 0 };
    const base = { fs: l.sim, segments: l.segments, committed: l.committed, removedHashes: new Set<string>() };
    expect(await verifyChain({ ...base, observe: seen(b), paths })).toEqual(await verifyChain({ ...base, observe: seen(a), fastPath: false }));
    expect(b).toEqual(a);
    expect(a).toHaveLength(9);
    expect(paths.inPlace).toBe(9);
  });

  it('a compacted log (tombstones and removed events) reports its gaps in place as the reference walk does', async () => {
    const { l, ids } = await build({ signingKey: SEED, payloadEncryption: {}, segmentMaxBytes: 700 }, async (s) => {
      await s.compact({ strategy: 'tombstone', drop: (e) => (e.payload as { n: number }).n === 0 });
      await s.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n !== 2 });
    });
    const { report, inPlace } = await walks(l);
    expect(report.intact).toBe(true);
    // Event 2 (entity a) was removed: event 4 links to it, a gap compaction's record explains.
    expect(report.gaps).toEqual([ids[4]]);
    expect(inPlace).toBe(report.eventsChecked);
  });

  it('a shredded scope verifies in place as before, and a tombstone flag no record explains is a mismatch', async () => {
    const { l, ids } = await build({ payloadEncryption: {} }, async (s) => {
      await s.shredScope({ entity: 'a' });
    });
    const { report, inPlace } = await walks(l);
    expect(report.intact).toBe(true);
    // The nine events and the shred's own record of it.
    expect(report.eventsChecked).toBe(10);
    expect(inPlace).toBe(10);
    // The tombstone flag set on event 3 (a one-byte `f`): only compaction's record could excuse it, and none does.
    rewrite(l, ids[3]!, (b) => {
      const f = Buffer.from(b).indexOf(Buffer.from([0xa1, 0x66]), hashAt(b, 'ch') + 32) + 2;
      b[f]! |= 0x02;
    });
    const damaged = await walks(reindex(l));
    expect(damaged.report.contentHashMismatches).toEqual([ids[3]]);
    expect(damaged.inPlace).toBe(10);
  });
});
