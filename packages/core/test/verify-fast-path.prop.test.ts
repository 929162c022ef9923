// verifyChain's in-place path (frames read at their positions, CRCs and payload hashes computed ahead, on worker
// threads or not) reports exactly what the reference path (every frame decoded) reports, on random stores with
// random damage: bit flips in headers, bodies and hash fields (with and without a fixed CRC), cut, removed,
// repeated and zeroed frames (INV-VERIFY-FAST-PATH, INV-CHAIN-RECOMPUTE).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { verifyChain, type CommittedEvents, type VerifyChainInput } from '../src/chain/verify.js';
import { toHex } from '../src/encoding/hex.js';
import { decodeCheckpoint } from '../src/event-index/checkpoint.js';
import type { IndexEntry } from '../src/event-index/entry.js';
import { entryFromRecovered } from '../src/event-index/from-frame.js';
import type { Fs, FsFile } from '../src/fs/fs.js';
import { RealFs } from '../src/fs/real.js';
import { SealChecker } from '../src/receipt/seal-check.js';
import { decodeFrameBody } from '../src/segment/frame.js';
import { scanSegment } from '../src/segment/scan.js';
import { segmentWalk } from '../src/event-index/segment-walk.js';
import type { SegmentSet } from '../src/segment/set.js';

const Note = defineEvent<{ n: number; text: string }>({ category: 3, typeId: 5, name: 'FastPathNote' });
const RAW = { category: 2, typeId: 3 };
const SEED = new Uint8Array(32).fill(9);

interface Built {
  /** Segment paths and their bytes as written. */
  readonly segments: { path: string; bytes: Uint8Array }[];
  /** The committed events as plain entries and as the checkpoint's record-backed ones. */
  readonly plain: IndexEntry[];
  readonly fromCheckpoint: IndexEntry[] | undefined;
  readonly publicKey: Uint8Array | undefined;
  readonly signed: boolean;
}

const ENTITIES = ['a', 'b', 'c-entity', 'é-non-ascii', 'a-long-entity-name-of-more-than-thirty-two-bytes'];

/**
 * A store with the shapes a log holds: single appends, batches, raw payloads of every bin width, causation extensions;
 * a quarter of the seeds encrypt their payloads (frames with `x`).
 */
async function build(seed: number, signed: boolean, ops: readonly number[]): Promise<Built> {
  const sim = new SimFs(seed);
  let clock = 1_700_000_000_000;
  const encrypted = seed % 4 === 1 ? { payloadEncryption: {} } : {};
  const s = await Store.open({ dir: '/db', fs: sim, now: () => (clock += 1), segmentMaxBytes: 4096, ...encrypted, ...(signed ? { signingKey: SEED } : {}) });
  let last: string | undefined;
  for (const [i, op] of ops.entries()) {
    const coord = new Coordinate(ENTITIES[op % ENTITIES.length]!, 's');
    const kind = op % 7;
    if (kind === 0) {
      await s.appendBatch(Array.from({ length: 2 + (op % 3) }, (_, k) => ({ coord: new Coordinate(ENTITIES[(op + k) % ENTITIES.length]!, 's'), kind: Note, payload: { n: i, text: `batch-${k}` } })));
    } else if (kind === 1) {
      const size = [0, 1, 255, 256, 300, 70_000][op % 6]!;
      last = (await s.appendRaw(coord, RAW, new Uint8Array(size).fill(op & 0xff))).eventId;
    } else if (kind === 2 && last !== undefined) {
      last = (await s.append(coord, Note, { n: i, text: 'caused' }, { causationId: last })).eventId;
    } else {
      last = (await s.append(coord, Note, { n: i, text: 'x'.repeat(op % 40) })).eventId;
    }
  }
  const publicKey = s.publicKey;
  await s.close();
  const segments = sim
    .listFiles()
    .filter((p) => p.endsWith('.bps'))
    .map((path) => ({ path, bytes: sim.inspect(path)!.current }));
  const plain: IndexEntry[] = [];
  for (const { path, bytes } of segments) {
    const segmentId = Number(path.slice(path.lastIndexOf('/') + 1, -4));
    for (const f of scanSegment(bytes, { file: path, allowTornTail: false }).frames) {
      if (f.frame.type === 0) plain.push(entryFromRecovered({ frame: f.frame, segmentId, offset: f.offset, length: f.length }));
    }
  }
  const cp = sim.inspect('/db/index.checkpoint');
  // The checkpoint holds the resident tier only (the segments after those served from index files): its
  // record-backed entries stand in for the plain ones of the events it holds.
  const recorded = cp === null ? undefined : decodeCheckpoint(cp.current)?.entries;
  const byId = new Map((recorded ?? []).map((e) => [e.eventId, e]));
  const fromCheckpoint = recorded === undefined ? undefined : plain.map((e) => byId.get(e.eventId) ?? e);
  return { segments, plain, fromCheckpoint, publicKey, signed };
}

/** Frame spans of a segment, by its headers (as far as they read). */
function spans(bytes: Uint8Array): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let pos = 32; pos + 12 <= bytes.length; ) {
    const length = 12 + dv.getUint32(pos + 4);
    if (pos + length > bytes.length) break;
    out.push({ offset: pos, length });
    pos += length;
  }
  return out;
}

const damageArb = fc.record({
  kind: fc.constantFrom('flip', 'flip-fix-crc', 'payload-fix-crc', 'hash-fix-crc', 'cut', 'remove', 'repeat', 'zero'),
  segment: fc.nat(),
  frame: fc.nat(),
  at: fc.nat(),
  xor: fc.integer({ min: 1, max: 255 }),
  recordRemoved: fc.boolean(),
});
type Damage = typeof damageArb extends fc.Arbitrary<infer T> ? T : never;

/** Applies one damage to the segments; a removed frame's content hash may go into `removed` (as compaction would record it). */
function damage(segs: { path: string; bytes: Uint8Array }[], d: Damage, removed: Set<string>): void {
  const seg = segs[d.segment % segs.length]!;
  const frames = spans(seg.bytes);
  const span = frames.length === 0 ? { offset: 32, length: Math.max(0, seg.bytes.length - 32) } : frames[d.frame % frames.length]!;
  const b = seg.bytes;
  const at = span.offset + (span.length === 0 ? 0 : d.at % span.length);
  switch (d.kind) {
    case 'flip':
      if (at < b.length) b[at]! ^= d.xor;
      return;
    case 'flip-fix-crc':
      // A body edit behind a valid CRC: only the fields themselves can tell.
      if (span.length > 12 && at >= span.offset + 12 && at < b.length) {
        b[at]! ^= d.xor;
        new DataView(b.buffer, b.byteOffset).setUint32(span.offset + 8, crc32(b.subarray(span.offset + 12, span.offset + span.length)));
      }
      return;
    case 'payload-fix-crc':
    case 'hash-fix-crc': {
      // The payload is the body's tail; the hashes follow their keys `ph` and `ch`. The CRC is made to match.
      if (span.length <= 12) return;
      const body = b.subarray(span.offset + 12, span.offset + span.length);
      let i = body.length - 1 - (d.at % Math.min(8, body.length));
      if (d.kind === 'hash-fix-crc') {
        const key = Buffer.from(body).indexOf(Buffer.from([0xa2, d.xor % 2 === 0 ? 0x70 : 0x63, 0x68, 0xc4, 32]));
        if (key === -1) return;
        i = key + 5 + (d.at % 32);
      }
      body[i]! ^= d.xor;
      new DataView(b.buffer, b.byteOffset).setUint32(span.offset + 8, crc32(body));
      return;
    }
    case 'cut':
      seg.bytes = b.slice(0, Math.min(b.length, at));
      return;
    case 'remove': {
      const body = b.subarray(span.offset + 12, span.offset + span.length);
      const ch = Buffer.from(body).indexOf(Buffer.from([0xa2, 0x63, 0x68, 0xc4, 32]));
      if (d.recordRemoved && ch !== -1) removed.add(toHex(body.subarray(ch + 5, ch + 37)));
      seg.bytes = new Uint8Array([...b.subarray(0, span.offset), ...b.subarray(span.offset + span.length)]);
      return;
    }
    case 'repeat':
      seg.bytes = new Uint8Array([...b.subarray(0, span.offset + span.length), ...b.subarray(span.offset, span.offset + span.length), ...b.subarray(span.offset + span.length)]);
      return;
    case 'zero':
      b.fill(0, at, Math.min(b.length, at + 1 + (d.xor % 40)));
      return;
  }
}

/** An Fs over bytes in memory, with or without readInto (both ways ReadWindow reads). */
function memoryFs(files: Map<string, Uint8Array>, readInto: boolean): Pick<Fs, 'open'> {
  return {
    open: async (path) => {
      const bytes = files.get(path);
      if (bytes === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      const readAt = async (position: number, length: number) => bytes.slice(position, Math.min(bytes.length, position + length));
      const file = {
        path,
        readAt,
        size: async () => bytes.length,
        close: async () => undefined,
        ...(readInto
          ? {
              readInto: async (position: number, target: Uint8Array) => {
                const got = await readAt(position, target.length);
                target.set(got);
                return got.length;
              },
            }
          : {}),
      };
      return file as unknown as FsFile;
    },
  };
}

/** One input, fresh seal checker each time (it keeps state). */
function inputOf(b: Built, fs: Pick<Fs, 'open'>, segs: { path: string; bytes: Uint8Array }[], ends: number[], committed: IndexEntry[], removed: Set<string>, withKeys: boolean): () => VerifyChainInput {
  const keys = withKeys && b.publicKey !== undefined ? [b.publicKey] : [];
  return () => ({
    fs,
    segments: segs.map((s, i) => ({ id: i + 1, path: s.path, committedEnd: ends[i]! })),
    committed,
    removedHashes: removed,
    tombstone: (id) => (['recorded', 'unknown', 'unexplained'] as const)[id.charCodeAt(31) % 3]!,
    seals: new SealChecker({ keys, requireSigned: b.signed || keys.length > 0 }),
  });
}

/**
 * `input` with the duplicate-id hook recording what it is shown (each committed event's id and where it is, in log
 * order): the in-place path, a batch held as a run included, must show the store's duplicate check what the decoding
 * path shows it.
 */
function recorded(input: VerifyChainInput): { input: VerifyChainInput; events: string[] } {
  const events: string[] = [];
  return { input: { ...input, committedEvent: (id, at, segmentId, offset) => void events.push(`${toHex(id.subarray(at, at + 16))}@${segmentId}:${offset}`) }, events };
}

/** `entries` in pages of `size`. */
function paged(entries: readonly IndexEntry[], size: number): CommittedEvents {
  return {
    count: entries.length,
    through: entries[entries.length - 1]?.globalSequence ?? 0,
    pages: async function* () {
      for (let i = 0; i < entries.length; i += size) yield entries.slice(i, i + size);
    },
  };
}

const opsArb = fc.array(fc.nat({ max: 1000 }), { minLength: 1, maxLength: 40 });

/** A verification's report, or the code of its failure. */
async function outcome(run: Promise<unknown>): Promise<unknown> {
  return run.then(
    (report) => ({ report }),
    (err: { code?: string; message?: string }) => ({ failed: err.code ?? err.message }),
  );
}

/**
 * The committed events of `segs` as the store's sealed tier lists them: the segments in `fromFrames` walked (damaged
 * frames left out, segment-walk.ts), the others' from `plain`; or the failure such a walk meets.
 */
async function listed(fs: Pick<Fs, 'open'>, segs: { path: string }[], ends: number[], plain: IndexEntry[], fromFrames: ReadonlySet<number>): Promise<IndexEntry[] | { failed: string }> {
  const out: IndexEntry[] = [];
  for (const [i, seg] of segs.entries()) {
    const id = i + 1;
    if (!fromFrames.has(id)) {
      out.push(...plain.filter((e) => e.segmentId === id));
      continue;
    }
    const set = { path: () => seg.path, size: () => ends[i]!, borrowingOpen: () => fs } as unknown as SegmentSet;
    try {
      for await (const e of segmentWalk(set, id, true)) out.push(e);
    } catch (err) {
      return { failed: (err as { code: string }).code };
    }
  }
  return out;
}

describe('verifyChain: the in-place path reports what the reference path reports (INV-VERIFY-FAST-PATH)', () => {
  it('in this thread, over random stores, random damage, both entry kinds and small read-ahead chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        // Signed a third of the time: sealed frames are checked in place too, their seals decoded.
        fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
        opsArb,
        fc.array(damageArb, { maxLength: 4 }),
        fc.record({
          checkpointEntries: fc.boolean(),
          readInto: fc.boolean(),
          withKeys: fc.boolean(),
          shortEnd: fc.boolean(),
          chunk: fc.option(fc.integer({ min: 1, max: 5000 })),
          page: fc.option(fc.integer({ min: 1, max: 7 })),
        }),
        async (seed, signed, ops, damages, how) => {
          const b = await build(seed, signed, ops);
          const segs = b.segments.map((s) => ({ path: s.path, bytes: s.bytes.slice() }));
          const ends = segs.map((s) => s.bytes.length - (how.shortEnd ? seed % 50 : 0));
          const removed = new Set<string>();
          for (const d of damages) damage(segs, d, removed);
          const committed = how.checkpointEntries && b.fromCheckpoint !== undefined ? b.fromCheckpoint : b.plain;
          const fs = memoryFs(new Map(segs.map((s) => [s.path, s.bytes])), how.readInto);
          const input = inputOf(b, fs, segs, ends, committed, removed, how.withKeys);
          const ref = recorded({ ...input(), fastPath: false });
          const reference = await verifyChain(ref.input);
          const inPlace = recorded({
            ...input(),
            ...(how.chunk === null ? {} : { chunkBytes: how.chunk }),
            // The committed events a page at a time, as a store's index hands them out.
            ...(how.page === null ? {} : { committed: paged(committed, how.page) }),
          });
          const fast = await verifyChain(inPlace.input);
          expect(fast).toEqual(reference);
          expect(inPlace.events).toEqual(ref.events);
          if (damages.length === 0 && !how.shortEnd) expect(fast.intact).toBe(true);
        },
      ),
      { numRuns: Number(process.env.BATPAK_FAST_PATH_RUNS ?? 150) },
    );
  }, 120_000);

  it('in segments whose frames are the authority (fromFrames): in place as decoded, and as the reference over what a scan of them lists', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat(),
        fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
        opsArb,
        fc.array(damageArb, { maxLength: 4 }),
        fc.record({
          readInto: fc.boolean(),
          withKeys: fc.boolean(),
          shortEnd: fc.boolean(),
          chunk: fc.option(fc.integer({ min: 1, max: 5000 })),
          page: fc.integer({ min: 1, max: 7 }),
          mask: fc.nat({ max: 0xffff }),
          // Frames waiting in a batch copy their fields out once this many chunk bytes are held.
          waiting: fc.option(fc.integer({ min: 1, max: 6000 })),
        }),
        async (seed, signed, ops, damages, how) => {
          const b = await build(seed, signed, ops);
          const segs = b.segments.map((s) => ({ path: s.path, bytes: s.bytes.slice() }));
          const ends = segs.map((s) => s.bytes.length - (how.shortEnd ? seed % 50 : 0));
          const removed = new Set<string>();
          for (const d of damages) damage(segs, d, removed);
          const fs = memoryFs(new Map(segs.map((s) => [s.path, s.bytes])), how.readInto);
          const input = inputOf(b, fs, segs, ends, b.plain, removed, how.withKeys);
          // Every segment some of the time, none some of the time, any subset otherwise.
          const fromFrames = new Set(segs.map((_, i) => i + 1).filter((id) => how.mask % 5 === 0 || (how.mask % 5 !== 1 && ((how.mask >> id % 16) & 1) === 1)));
          const rest = b.plain.filter((e) => !fromFrames.has(e.segmentId));
          const through = b.plain[b.plain.length - 1]?.globalSequence ?? 0;
          const committed: CommittedEvents = { ...paged(rest, how.page), count: b.plain.length, through, fromFrames };
          const inPlace = recorded({ ...input(), committed, ...(how.chunk === null ? {} : { chunkBytes: how.chunk }), ...(how.waiting === null ? {} : { waitingBytes: how.waiting }) });
          const fast = await outcome(verifyChain(inPlace.input));
          const dec = recorded({ ...input(), committed, fastPath: false });
          const decoded = await outcome(verifyChain(dec.input));
          expect(fast).toEqual(decoded);
          if ('report' in (fast as object)) expect(inPlace.events).toEqual(dec.events);
          // Against the entries a scan lists: the same, but where a damaged frame's CRC fails (its fields are no
          // evidence: the walk does not match it against the committed event the scan lists after it).
          if (damages.some((d) => d.kind === 'flip' || d.kind === 'zero')) return;
          const list = await listed(fs, segs, ends, b.plain, fromFrames);
          const reference = Array.isArray(list) ? await outcome(verifyChain({ ...input(), committed: list, fastPath: false })) : list;
          expect(fast).toEqual(reference);
          if (damages.length === 0 && !how.shortEnd) expect((fast as { report: { intact: boolean } }).report.intact).toBe(true);
        },
      ),
      { numRuns: Number(process.env.BATPAK_FAST_PATH_RUNS ?? 150) },
    );
  }, 120_000);

  it('fromFrames: batches read in place across chunk edges, their fields copied out at every chunk end, verify intact', async () => {
    // Batches only (op % 7 === 0), plain (seed % 4 !== 1), unsigned: every event waits in its batch.
    const b = await build(2, false, Array.from({ length: 30 }, (_, i) => 7 * i));
    const segs = b.segments.map((s) => ({ path: s.path, bytes: s.bytes.slice() }));
    const fs = memoryFs(new Map(segs.map((s) => [s.path, s.bytes])), true);
    const input = inputOf(b, fs, segs, segs.map((s) => s.bytes.length), b.plain, new Set(), false);
    const fromFrames = new Set(segs.map((_, i) => i + 1));
    const committed: CommittedEvents = { ...paged([], 1), count: b.plain.length, through: b.plain[b.plain.length - 1]!.globalSequence, fromFrames };
    const paths = { inPlace: 0, decoded: 0 };
    const report = await verifyChain({ ...input(), committed, chunkBytes: 300, waitingBytes: 1, paths });
    expect(report).toEqual(await verifyChain({ ...input(), committed, fastPath: false }));
    expect(report.intact).toBe(true);
    expect(report.eventsChecked).toBe(b.plain.length);
    // All but the non-ASCII entity's events (decoded) are read in place.
    expect(paths.inPlace).toBeGreaterThan(b.plain.length / 2);
    expect(paths.inPlace + paths.decoded).toBe(b.plain.length);
  });

  it('fromFrames: a batch held as a run is committed only whole, and a frame of another batch at the next index ends it uncommitted', async () => {
    // Three batches of three plain events (op % 7 === 0, op % 3 === 1; op % 5 === 4: ASCII entities only), unsigned: A, B, C. With A's last frame and
    // B's first two removed, B's third frame carries the index A's run waits for but B's first: nothing of A or B
    // commits (the rules discard A and drop a batch entered mid-way), C does.
    const b = await build(2, false, [49, 154, 259]);
    const segs = b.segments.map((s) => ({ path: s.path, bytes: s.bytes.slice() }));
    const seg = segs.find((s) => spans(s.bytes).length >= 9)!;
    const frames = spans(seg.bytes).map((f) => ({ ...f, frame: decodeFrameBody(seg.bytes.subarray(f.offset + 12, f.offset + f.length)) }));
    const at = frames.findIndex((f, i) => f.frame.type === 0 && f.frame.batch?.index === 0 && f.frame.batch.count === 3 && frames[i + 3]?.frame.type === 0);
    expect(at).toBeGreaterThanOrEqual(0);
    const drop = new Set([at + 2, at + 3, at + 4]);
    const bIndex = (i: number) => (frames[i]!.frame as { batch?: { first: number; index: number } }).batch;
    expect(bIndex(at + 5)?.index).toBe(2);
    expect(bIndex(at + 5)?.first).not.toBe(bIndex(at)?.first);
    const whole = seg.bytes;
    seg.bytes = Buffer.concat([whole.subarray(0, 32), ...frames.filter((_, i) => !drop.has(i)).map((f) => whole.subarray(f.offset, f.offset + f.length))]);
    const fs = memoryFs(new Map(segs.map((s) => [s.path, s.bytes])), true);
    const input = inputOf(b, fs, segs, segs.map((s) => s.bytes.length), b.plain, new Set(), false);
    const fromFrames = new Set(segs.map((_, i) => i + 1));
    const committed: CommittedEvents = { ...paged([], 1), count: b.plain.length, through: b.plain[b.plain.length - 1]!.globalSequence, fromFrames };
    const paths = { inPlace: 0, decoded: 0 };
    const inPlace = recorded({ ...input(), committed, paths });
    const report = await verifyChain(inPlace.input);
    const dec = recorded({ ...input(), committed, fastPath: false });
    expect(report).toEqual(await verifyChain(dec.input));
    expect(inPlace.events).toEqual(dec.events);
    // Nothing is missing (no index lists these events) and the walk decoded nothing: A and B are simply not committed.
    expect(report.eventsChecked).toBe(b.plain.length - 6);
    expect(paths).toEqual({ inPlace: b.plain.length - 6, decoded: 0 });
  });

  describe('on worker threads over RealFs', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'batpak-verify-workers-'));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('reports what the reference path reports, chunks spread over the workers', async () => {
      let run = 0;
      await fc.assert(
        fc.asyncProperty(fc.nat(), fc.boolean(), opsArb, fc.array(damageArb, { maxLength: 3 }), fc.integer({ min: 1, max: 3000 }), fc.integer({ min: 1, max: 2 }), async (seed, signed, ops, damages, chunk, workers) => {
          const b = await build(seed, signed, ops);
          const segs = b.segments.map((s) => ({ path: join(dir, `${run}-${s.path.slice(s.path.lastIndexOf('/') + 1)}`), bytes: s.bytes.slice() }));
          run++;
          const ends = segs.map((s) => s.bytes.length);
          const removed = new Set<string>();
          for (const d of damages) damage(segs, d, removed);
          for (const s of segs) await writeFile(s.path, s.bytes);
          const input = inputOf(b, new RealFs(), segs, ends, b.fromCheckpoint ?? b.plain, removed, true);
          const ref = recorded({ ...input(), fastPath: false });
          const reference = await verifyChain(ref.input);
          const inPlace = recorded({ ...input(), workers, chunkBytes: chunk });
          const fast = await verifyChain(inPlace.input);
          expect(fast).toEqual(reference);
          expect(inPlace.events).toEqual(ref.events);
        }),
        { numRuns: Number(process.env.BATPAK_FAST_PATH_WORKER_RUNS ?? 20) },
      );
    }, 120_000);

    it('an abort mid-way stops the workers and rejects with ERR_ABORTED', async () => {
      const sim = new SimFs(3);
      const s = await Store.open({ dir: '/db', fs: sim, sync: 'none' });
      for (let k = 0; k < 3; k++) await s.appendBatch(Array.from({ length: 3000 }, (_, i) => ({ coord: new Coordinate(`e${i % 5}`, 's'), kind: Note, payload: { n: i, text: 'abort' } })));
      await s.close();
      const bytes = sim.inspect('/db/000001.bps')!.current;
      const path = join(dir, 'abort.bps');
      await writeFile(path, bytes);
      const committed = scanSegment(bytes, { file: path, allowTornTail: false }).frames.map((f) =>
        f.frame.type === 0 ? entryFromRecovered({ frame: f.frame, segmentId: 1, offset: f.offset, length: f.length }) : undefined,
      );
      const ac = new AbortController();
      const run = verifyChain({
        fs: new RealFs(),
        segments: [{ id: 1, path, committedEnd: bytes.length }],
        committed: committed.filter((e) => e !== undefined),
        removedHashes: new Set(),
        workers: 2,
        chunkBytes: 4096,
        signal: ac.signal,
        onProgress: () => ac.abort(),
      });
      await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED' });
      // The same input, not aborted, still verifies whole (no worker or chunk left over from the abort).
      const again = await verifyChain({
        fs: new RealFs(),
        segments: [{ id: 1, path, committedEnd: bytes.length }],
        committed: committed.filter((e) => e !== undefined),
        removedHashes: new Set(),
        workers: 2,
        chunkBytes: 4096,
      });
      expect(again.intact).toBe(true);
      expect(again.eventsChecked).toBe(9000);
    }, 60_000);
  });
});
