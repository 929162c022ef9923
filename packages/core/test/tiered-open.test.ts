// Store.open over index files (FORMAT.md § The index in two tiers): sealed segments are served from their
// `.bpi` files, not held in memory (INV-TIERED-INDEX-BOUNDED), and every answer is the one a store opened by
// scanning every segment gives (INV-TIERED-INDEX-SAME) — also over missing, torn, damaged or forged files
// (INV-DERIVED-NOT-AUTHORITY), after a compaction, and for idempotent retries and imports of sealed events.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store, type StoreOptions, type WarningCode } from '../src/index.js';
import { KillableFs, SimFs } from '../src/entry/testing.js';
import { encodeIndexFile } from '../src/event-index/segment-index-encode.js';
import { indexedFramesOf } from '../src/event-index/segment-index-scan.js';
import { indexFileName, readBinding } from '../src/event-index/segment-index-write.js';
import { segmentFileName } from '../src/segment/format.js';
import { crc32 } from 'node:zlib';
import { storeAnswers } from './helpers/store-answers.js';

const E = defineEvent<{ n: number; pad: string }>({ category: 1, typeId: 1 });
const KEY = new Uint8Array(32).fill(7);
const ENTITIES = 9;
const coord = (i: number) => new Coordinate(`ent-${i % ENTITIES}`, `sc${i % 2}`);

type Shape = { readonly signed: boolean; readonly encrypted: boolean; readonly batches: boolean };

const optionsOf = (fs: SimFs, shape: Shape, extra: Partial<StoreOptions> = {}): StoreOptions => ({
  dir: '/s',
  fs,
  segmentMaxBytes: 2500,
  ...(shape.signed ? { signingKey: KEY } : {}),
  ...(shape.encrypted ? { payloadEncryption: {} } : {}),
  ...extra,
});

function collect() {
  const warnings: { message: string; code: WarningCode }[] = [];
  return { warnings, onWarning: (message: string, code: WarningCode) => void warnings.push({ message, code }) };
}

/** A closed store of `events` events (some in batches) over several segments, each sealed one with its index file. */
async function buildStore(seed: number, shape: Shape, events = 160): Promise<{ fs: SimFs; ids: string[] }> {
  const fs = new SimFs(seed);
  const s = await Store.open(optionsOf(fs, shape, { onWarning: () => undefined }));
  const ids: string[] = [];
  for (let n = 0; n < events; ) {
    if (shape.batches && n % 7 === 3) {
      const rs = await s.appendBatch([0, 1, 2].map((k) => ({ coord: coord(n + k), kind: E, payload: { n: n + k, pad: 'x'.repeat((n * 7) % 30) } })));
      ids.push(...rs.map((r) => r.eventId));
      n += 3;
    } else {
      ids.push((await s.append(coord(n), E, { n, pad: 'y'.repeat((n * 5) % 30) })).eventId);
      n++;
    }
  }
  await s.close();
  return { fs, ids };
}

const segmentIds = (fs: SimFs) => fs.listFiles().flatMap((p) => /^\/s\/(\d+)\.bps$/.exec(p)?.[1] ?? []).map(Number);
const indexPath = (id: number) => `/s/${indexFileName(id)}`;

/** Everything a reader can ask, as plain data. */
const answers = (s: Store, ids: readonly string[]) => storeAnswers(s, ids, ENTITIES);

/** The answers of a read-only store opened by scanning every segment (its index files set aside). */
async function scanned(fs: SimFs, shape: Shape, ids: readonly string[]) {
  const saved = new Map<string, Uint8Array>();
  for (const p of fs.listFiles().filter((x) => x.endsWith('.bpi'))) {
    saved.set(p, fs.inspect(p)!.current.slice());
    await fs.remove(p);
  }
  const s = await Store.open(optionsOf(fs, shape, { readOnly: true, onWarning: () => undefined }));
  expect(s.stats().index?.sealedSegments).toBe(0);
  const out = await answers(s, ids);
  await s.close();
  for (const [p, bytes] of saved) fs.putFile(p, bytes);
  return out;
}

const SHAPES: readonly [string, Shape][] = [
  ['plain', { signed: false, encrypted: false, batches: false }],
  ['batches, signed', { signed: true, encrypted: false, batches: true }],
  ['batches, encrypted', { signed: false, encrypted: true, batches: true }],
];

describe('Store.open over index files', () => {
  it.each(SHAPES)('INV-TIERED-INDEX-BOUNDED, INV-TIERED-INDEX-SAME: %s: sealed segments are served from their files, with the answers of a scan', async (_, shape) => {
    const { fs, ids } = await buildStore(21, shape);
    const segs = segmentIds(fs);
    expect(segs.length).toBeGreaterThan(4);
    const expected = await scanned(fs, shape, ids);
    expect(expected.report.intact).toBe(true);
    for (const readOnly of [false, true]) {
      const w = collect();
      const s = await Store.open(optionsOf(fs, shape, { readOnly, onWarning: w.onWarning }));
      const index = s.stats().index!;
      // Every sealed segment from its file; in memory only the active segment's entries.
      expect(index.sealedSegments).toBe(segs.length - 1);
      expect(index.residentEntries).toBeLessThan(ids.length / 4);
      expect(index.sealedBytes / (ids.length - index.residentEntries)).toBeLessThan(200);
      expect(await answers(s, ids)).toEqual(expected);
      await s.close();
      expect(w.warnings).toEqual([]);
    }
  }, 120_000);

  const DAMAGE: readonly [string, (fs: SimFs, id: number) => Promise<void> | void][] = [
    ['deleted', async (fs, id) => fs.remove(indexPath(id))],
    ['truncated', (fs, id) => fs.putFile(indexPath(id), fs.inspect(indexPath(id))!.current.subarray(0, 900))],
    ['bit-flipped in a block', (fs, id) => fs.corrupt(indexPath(id), 128 + 4096 + 60, 0x01)],
    [
      'forged (records swapped, every CRC recomputed)',
      async (fs, id) => {
        const path = `/s/${segmentFileName(id)}`;
        const size = fs.inspect(path)!.current.length;
        const frames = await indexedFramesOf(fs, path, size);
        // The second and third records point at each other's frames: a file that checks out byte for byte.
        const forged = frames.map((f, i) => (i === 1 || i === 2 ? { ...f, offset: frames[3 - i]!.offset, length: frames[3 - i]!.length } : f));
        const seg = await fs.open(path);
        const binding = await readBinding(seg, id, size);
        await seg.close();
        fs.putFile(indexPath(id), await encodeIndexFile({ ...binding, segmentCrc: crc32(fs.inspect(path)!.current) }, forged));
      },
    ],
  ];

  it.each(DAMAGE)('INV-DERIVED-NOT-AUTHORITY: an index file %s gives a warning and the answers of a scan; the file is rebuilt', async (_, damage) => {
    const shape = SHAPES[1]![1];
    const { fs, ids } = await buildStore(22, shape);
    const segs = segmentIds(fs);
    const expected = await scanned(fs, shape, ids);
    const target = segs[1]!;
    await damage(fs, target);
    const w = collect();
    const s = await Store.open(optionsOf(fs, shape, { onWarning: w.onWarning }));
    expect(await answers(s, ids)).toEqual(expected);
    await s.close();
    const rebuilt = w.warnings.filter((x) => x.code === 'BATPAK_INDEX_FILE_REBUILT');
    expect(rebuilt.length).toBeGreaterThan(0);
    expect(rebuilt.every((x) => x.message.includes(`segment ${target}`))).toBe(true);
    // The next open serves every sealed segment from its (rebuilt) file again, quietly.
    const quiet = collect();
    const again = await Store.open(optionsOf(fs, shape, { onWarning: quiet.onWarning }));
    expect(again.stats().index?.sealedSegments).toBe(segs.length - 1);
    expect(await answers(again, ids)).toEqual(expected);
    await again.close();
    expect(quiet.warnings).toEqual([]);
  }, 120_000);

  it('INV-TIERED-INDEX-SAME: after a compaction the store reopens from files with the answers of a scan', async () => {
    const shape = SHAPES[0]![1];
    const { fs, ids } = await buildStore(23, shape);
    const s = await Store.open(optionsOf(fs, shape, { onWarning: () => undefined }));
    expect(s.stats().index?.sealedSegments).toBeGreaterThan(2);
    const result = await s.compact({ strategy: 'retention', keep: (e) => (e.payload as { n: number }).n % 4 !== 1 });
    expect(result.outcome).toBe('performed');
    // Appends go on over the compacted store, and a segment seals after it.
    for (let n = 0; n < 60; n++) ids.push((await s.append(coord(n), E, { n: 1000 + n, pad: 'z'.repeat(20) })).eventId);
    await s.close();
    const kept: string[] = [];
    const probe = await Store.open(optionsOf(fs, shape, { readOnly: true, onWarning: () => undefined }));
    for await (const e of probe.query()) kept.push(e.header.eventId);
    await probe.close();
    expect(kept.length).toBeLessThan(ids.length);
    const expected = await scanned(fs, shape, kept);
    expect(expected.report.intact).toBe(true);
    const w = collect();
    const again = await Store.open(optionsOf(fs, shape, { onWarning: w.onWarning }));
    expect(again.stats().index?.sealedSegments).toBe(segmentIds(fs).length - 1);
    expect(await answers(again, kept)).toEqual(expected);
    await again.close();
    expect(w.warnings).toEqual([]);
  }, 120_000);
});

describe('a damaged frame inside a file-served segment', () => {
  it('INV-TIERED-INDEX-SAME: the open does not read it; a read that meets it, a query and verifyChain report it', async () => {
    const fs = new SimFs(51);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 24 * 1024, onWarning: () => undefined });
    const ids: string[] = [];
    for (let n = 0; n < 400; n++) ids.push((await s.append(coord(n), E, { n, pad: `note-${n}` })).eventId);
    await s.close();
    // Event 40's payload, in the first segment and far from its last 4096 bytes (the part an index file binds to).
    const first = `/s/${segmentFileName(1)}`;
    const at = Buffer.from(fs.inspect(first)!.current).indexOf('note-40');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(fs.inspect(first)!.current.length - 4096);
    fs.corrupt(first, at, 0x20);
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 24 * 1024, onWarning: () => undefined });
    expect(again.stats().index?.sealedSegments).toBeGreaterThan(1);
    await expect(again.get(ids[40]!)).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    expect((await again.get(ids[39]!)).payload).toEqual({ n: 39, pad: 'note-39' });
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const e of again.query()) seen.push((e.payload as { n: number }).n);
      })(),
    ).rejects.toMatchObject({ code: 'ERR_CORRUPT_SEGMENT' });
    expect(seen).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const report = await again.verifyChain();
    expect(report.intact).toBe(false);
    expect(report.corruptFrames.length).toBeGreaterThan(0);
    await again.close();
  }, 60_000);
});

describe('a process that dies while an open rebuilds index files', () => {
  it('INV-TIERED-INDEX-SAME: every kill point and power loss leaves a store whose next open gives the answers of a scan', async () => {
    const shape = SHAPES[1]![1];
    for (let ticks = 0; ticks < 40; ticks += 4) {
      const { fs, ids } = await buildStore(40 + ticks, shape, 120);
      const expected = await scanned(fs, shape, ids);
      // Every index file lost (they are never fsynced): the open rebuilds them inline (index-rebuild.test.ts kills
      // it mid-way), and the process dies at some point after it.
      for (const p of fs.listFiles().filter((x) => x.endsWith('.bpi'))) await fs.remove(p);
      const proc = new KillableFs(fs);
      // Never closed: the process dies.
      await Store.open(optionsOf(fs, shape, { fs: proc, onWarning: () => undefined }));
      for (let t = 0; t < ticks; t++) await new Promise((r) => setImmediate(r));
      proc.kill();
      fs.crash({ tear: true });
      const again = await Store.open(optionsOf(fs, shape, { fs: new KillableFs(fs), onWarning: () => undefined }));
      expect(await answers(again, ids)).toEqual(expected);
      await again.close();
      expect(fs.listFiles().filter((p) => p.includes('.tmp-'))).toEqual([]);
      // After a clean close every sealed segment is served from its file.
      const last = await Store.open(optionsOf(fs, shape, { readOnly: true, onWarning: () => undefined }));
      expect(last.stats().index?.sealedSegments).toBe(segmentIds(fs).length - 1);
      await last.close();
    }
  }, 120_000);
});

describe('appends that name an event of a file-served segment', () => {
  it('INV-TIERED-INDEX-SAME: an idempotent retry gets the original receipt, a changed one a conflict, and nothing is written', async () => {
    const fs = new SimFs(31);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 2500, onWarning: () => undefined });
    const original = await s.append(coord(1), E, { n: 1, pad: 'a' }, { idempotencyKey: 'order-1' });
    const batch = await s.appendBatch([
      { coord: coord(2), kind: E, payload: { n: 2, pad: 'b' }, idempotencyKey: 'order-2' },
      { coord: coord(3), kind: E, payload: { n: 3, pad: 'c' }, idempotencyKey: 'order-3' },
    ]);
    for (let n = 0; n < 120; n++) await s.append(coord(n), E, { n, pad: 'x'.repeat(20) });
    await s.close();
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 2500, onWarning: () => undefined });
    expect(again.stats().index?.sealedSegments).toBeGreaterThan(2);
    // The originals are in the first segment, served from its file: not resident.
    expect(again.stats().index!.residentEntries).toBeLessThan(60);
    const events = again.stats().events;
    expect(await again.append(coord(1), E, { n: 1, pad: 'a' }, { idempotencyKey: 'order-1' })).toEqual(original);
    await expect(again.append(coord(1), E, { n: 9, pad: 'a' }, { idempotencyKey: 'order-1' })).rejects.toMatchObject({ code: 'ERR_IDEMPOTENCY_CONFLICT' });
    const retried = await again.appendBatch([
      { coord: coord(2), kind: E, payload: { n: 2, pad: 'b' }, idempotencyKey: 'order-2' },
      { coord: coord(3), kind: E, payload: { n: 3, pad: 'c' }, idempotencyKey: 'order-3' },
    ]);
    expect(retried).toEqual(batch);
    await expect(
      again.appendBatch([
        { coord: coord(2), kind: E, payload: { n: 2, pad: 'b' }, idempotencyKey: 'order-2' },
        { coord: coord(4), kind: E, payload: { n: 4, pad: 'd' }, idempotencyKey: 'order-4' },
      ]),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(again.stats().events).toBe(events);
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  }, 60_000);

  it('INV-TIERED-INDEX-SAME: importing an event already in a file-served segment is refused, and nothing is imported', async () => {
    const fs = new SimFs(32);
    const s = await Store.open({ dir: '/s', fs, segmentMaxBytes: 2500, onWarning: () => undefined });
    const first = await s.appendRaw(coord(1), E.kind, new Uint8Array([1, 2, 3]));
    for (let n = 0; n < 120; n++) await s.append(coord(n), E, { n, pad: 'x'.repeat(20) });
    await s.close();
    const again = await Store.open({ dir: '/s', fs, segmentMaxBytes: 2500, onWarning: () => undefined });
    expect(again.stats().index?.sealedSegments).toBeGreaterThan(2);
    const raw = await again.getRaw(first.eventId);
    const events = again.stats().events;
    const fresh = '0123456789abcdef0123456789abcdef';
    const imported = (eventId: string) => ({ eventId, coordinate: raw.coordinate, kind: raw.header.kind, payload: raw.bytes, contentHash: raw.header.contentHash, payloadVersion: 0 });
    const err = await again.importEvents([imported(fresh), imported(first.eventId)]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe('ERR_INVALID_ARGUMENT');
    expect((err as BatpakError).message).toContain(first.eventId);
    expect(again.stats().events).toBe(events);
    await expect(again.get(fresh)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await again.close();
  }, 60_000);
});
