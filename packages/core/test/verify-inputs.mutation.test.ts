// verifyChain called with each of its optional inputs left out or set (no seal checker, no tombstone record,
// an observer, a cancelled signal, the reference walk, tiny read-ahead chunks) and with frames on disk that the
// committed snapshot does not hold: the report a caller gets in each case (INV-CHAIN-RECOMPUTE, INV-VERIFY-FAST-PATH).
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { verifyChain, type VerifyChainInput } from '../src/chain/verify.js';
import type { IndexEntry } from '../src/event-index/entry.js';
import { entryFromRecovered } from '../src/event-index/from-frame.js';
import type { Fs, FsFile } from '../src/fs/fs.js';
import { scanSegment } from '../src/segment/scan.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 3, typeId: 9, name: 'InputsNote' });

interface Log {
  readonly sim: SimFs;
  readonly segments: { id: number; path: string; committedEnd: number }[];
  readonly committed: IndexEntry[];
  /** Frame offsets of the committed events, in order (first segment only: the fixture keeps one). */
  readonly offsets: number[];
}

/** Reads back what a closed store left on disk: its segments and its committed events as index entries. */
function readBack(sim: SimFs): Log {
  const segments: Log['segments'] = [];
  const committed: IndexEntry[] = [];
  const offsets: number[] = [];
  for (const path of sim.listFiles().filter((p) => p.endsWith('.bps'))) {
    const bytes = sim.inspect(path)!.current;
    const segmentId = Number(path.slice(path.lastIndexOf('/') + 1, -4));
    segments.push({ id: segmentId, path, committedEnd: bytes.length });
    for (const f of scanSegment(bytes, { file: path, allowTornTail: false }).frames) {
      if (f.frame.type !== 0) continue;
      committed.push(entryFromRecovered({ frame: f.frame, segmentId, offset: f.offset, length: f.length }));
      offsets.push(f.offset);
    }
  }
  return { sim, segments, committed, offsets };
}

/** Six events over entities a and b (a: 0, 2, 4; b: 1, 3, 5), in one segment; signed stores also hold seal frames. */
async function log(signed: boolean): Promise<Log> {
  const sim = new SimFs(21);
  let clock = 1_700_000_000_000;
  const s = await Store.open({ dir: '/db', fs: sim, now: () => (clock += 1), ...(signed ? { signingKey: new Uint8Array(32).fill(6) } : {}) });
  for (let n = 0; n < 6; n++) await s.append(new Coordinate(n % 2 === 0 ? 'a' : 'b', 's'), Note, { n, text: `payload ${n}` });
  await s.close();
  return readBack(sim);
}

const run = (l: Log, extra: Partial<VerifyChainInput> = {}) =>
  verifyChain({ fs: l.sim, segments: l.segments, committed: l.committed, removedHashes: new Set(), ...extra });

const intactReport = (eventsChecked: number) => ({
  eventsChecked,
  contentHashMismatches: [],
  danglingLinks: [],
  gaps: [],
  corruptFrames: [],
  missingEvents: [],
  signatureFailures: [],
  signaturesChecked: 0,
  keyIds: [],
  headersUnverified: 0,
  directoryDamage: [],
  intact: true,
});

/** Flips bytes of the one segment on "disk": `at` is a file offset. */
function flip(l: Log, at: number, mask: number): void {
  l.sim.corrupt(l.segments[0]!.path, at, mask);
}

describe('verifyChain without the optional inputs (INV-CHAIN-RECOMPUTE)', () => {
  it('with no seal checker, directory damage or tombstone record, a signed log is intact on every walk', async () => {
    const l = await log(true);
    expect(l.committed.length).toBe(6);
    const expected = intactReport(6);
    expect(await run(l)).toEqual(expected);
    expect(await run(l, { fastPath: false })).toEqual(expected);
    expect(await run(l, { chunkBytes: 8 })).toEqual(expected);
  });

  it('a cancelled signal stops the verification with ERR_ABORTED and keeps the reason', async () => {
    const l = await log(false);
    const ac = new AbortController();
    const reason = new Error('operator stopped it');
    ac.abort(reason);
    const err = await run(l, { signal: ac.signal }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_ABORTED');
    expect((err as BatpakError).cause).toBe(reason);
  });

  it('an observer sees every committed event frame once, in log order', async () => {
    const l = await log(true);
    const seen: number[] = [];
    const report = await run(l, { observe: (f) => seen.push(f.globalSequence) });
    expect(report.intact).toBe(true);
    expect(seen).toEqual(l.committed.map((e) => e.globalSequence));
  });

  it('every segment handle the verification opens is closed again, on either walk', async () => {
    const l = await log(false);
    let open = 0;
    const fs: Pick<Fs, 'open'> = {
      open: async (path, options) => {
        const f = await l.sim.open(path, options);
        open++;
        return new Proxy(f, {
          get(target, prop, receiver) {
            if (prop === 'close') {
              return async () => {
                open--;
                await target.close();
              };
            }
            const v = Reflect.get(target, prop, receiver) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }) as FsFile;
      },
    };
    expect((await run(l, { fs })).intact).toBe(true);
    expect(open).toBe(0);
    expect((await run(l, { fs, fastPath: false })).intact).toBe(true);
    expect(open).toBe(0);
  });
});

describe('frames the committed snapshot does not hold (INV-CHAIN-RECOMPUTE)', () => {
  it('frames past the last committed event (an interrupted batch) are not judged, on either walk', async () => {
    const l = await log(false);
    const committed = l.committed.slice(0, 4);
    for (const fastPath of [true, false]) expect(await run(l, { committed, fastPath })).toEqual(intactReport(4));
  });

  it('an uncommitted frame between committed events is skipped, not reported as another event', async () => {
    const l = await log(false);
    // Event 4 is entity a's last: nothing links to it, so leaving it out of the snapshot breaks no chain.
    const committed = l.committed.filter((_, i) => i !== 4);
    for (const fastPath of [true, false]) expect(await run(l, { committed, fastPath })).toEqual(intactReport(5));
  });

  it('a frame that holds another event than the one committed at its sequence is reported at its offset', async () => {
    const l = await log(false);
    const swapped = l.committed.map((e, i) => (i === 2 ? { ...e, idBytes: l.committed[3]!.idBytes, eventId: l.committed[3]!.eventId } : e));
    const r = await run(l, { committed: swapped, fastPath: false });
    expect(r.corruptFrames).toEqual([{ file: '/db/000001.bps', offset: l.offsets[2], reason: `frame holds event ${l.committed[2]!.eventId}, not the committed ${l.committed[3]!.eventId}` }]);
    expect(r.intact).toBe(false);
  });
});

describe('damage, walked the same way by the in-place path, the reference walk and tiny chunks (INV-VERIFY-FAST-PATH)', () => {
  async function damaged() {
    const l = await log(false);
    // Event 1: a payload byte flipped (CRC mismatch, still decodes). Event 3: its frame magic broken.
    // Event 5: its body map emptied (CRC mismatch and undecodable).
    const body1 = l.offsets[1]! + 12;
    const bytes = l.sim.inspect(l.segments[0]!.path)!.current;
    const payloadAt = Buffer.from(bytes).indexOf('payload 1', body1);
    flip(l, payloadAt, 0x01);
    flip(l, l.offsets[3]!, 0xff);
    flip(l, l.offsets[5]! + 12, bytes[l.offsets[5]! + 12]! ^ 0x80);
    return l;
  }

  it('each finding lands in its list with its exact reason and offset', async () => {
    const l = await damaged();
    const file = '/db/000001.bps';
    const [e0, e1, e2, e3, e4, e5] = l.committed.map((e) => e.eventId);
    const expected = {
      ...intactReport(4),
      contentHashMismatches: [e1],
      corruptFrames: [
        { file, offset: l.offsets[1], reason: 'frame CRC mismatch', eventId: e1 },
        { file, offset: l.offsets[3], reason: 'damaged frame header' },
        { file, offset: l.offsets[5], reason: 'frame CRC mismatch' },
      ],
      missingEvents: [e3, e5],
      intact: false,
    };
    expect([e0, e2, e4].length).toBe(3);
    expect(await run(l)).toEqual(expected);
    expect(await run(l, { fastPath: false })).toEqual(expected);
    expect(await run(l, { chunkBytes: 8 })).toEqual(expected);
    expect(await run(l, { chunkBytes: 64 })).toEqual(expected);
  });

  it('a CRC-valid frame whose body does not decode is reported as undecodable', async () => {
    const l = await log(false);
    const at = l.offsets[2]!;
    const bytes = l.sim.inspect(l.segments[0]!.path)!.current;
    const frame = bytes.slice(at, at + 12 + new DataView(bytes.buffer, bytes.byteOffset).getUint32(at + 4));
    frame[12] = 0x80; // an empty body map
    new DataView(frame.buffer).setUint32(8, crc32(frame.subarray(12)));
    for (let i = 0; i < frame.length; i++) if (frame[i] !== bytes[at + i]) flip(l, at + i, frame[i]! ^ bytes[at + i]!);
    for (const fastPath of [true, false]) {
      const r = await run(l, { fastPath });
      expect(r.corruptFrames).toEqual([{ file: '/db/000001.bps', offset: at, reason: 'undecodable frame: empty body map' }]);
      expect(r.missingEvents).toEqual([l.committed[2]!.eventId]);
      // Event 4 (entity a) links to the event whose frame no longer decodes.
      expect(r.danglingLinks).toEqual([l.committed[4]!.eventId]);
    }
  });
});

describe('tombstones without compaction’s record (INV-TOMBSTONE-RECORDED)', () => {
  it('a tombstone flag nobody explains is a content-hash mismatch; an unknown one leaves the header unverified', async () => {
    const sim = new SimFs(22);
    let clock = 1_700_000_000_000;
    const s = await Store.open({ dir: '/db', fs: sim, now: () => (clock += 1), segmentMaxBytes: 300 });
    for (let n = 0; n < 6; n++) await s.append(new Coordinate('a', 's'), Note, { n, text: `payload ${n}` });
    const r = await s.compact({ strategy: 'tombstone', drop: (e) => (e.payload as { n: number }).n === 1 });
    expect(r.outcome).toBe('performed');
    await s.close();
    const l = readBack(sim);
    const dead = l.committed.filter((e) => (e.flags & 2) !== 0);
    expect(dead.length).toBe(1);
    for (const fastPath of [true, false]) {
      const plain = await run(l, { fastPath });
      expect(plain.contentHashMismatches).toEqual([dead[0]!.eventId]);
      expect(plain.intact).toBe(false);
      const unknown = await run(l, { fastPath, tombstone: () => 'unknown' });
      expect(unknown.contentHashMismatches).toEqual([]);
      expect(unknown.headersUnverified).toBe(1);
      expect(unknown.intact).toBe(true);
    }
  });
});
