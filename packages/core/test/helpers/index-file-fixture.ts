// Test fixtures for segment index files: a fake sealed segment with random committed events, and the
// brute-force answers (heads, summary, lists) the tests compare the file's answers with. Written without
// the encoder's code, so a bug there cannot hide in the reference.
import { SimFs } from '../../src/entry/testing.js';
import { BlockCache } from '../../src/event-index/block-cache.js';
import { SegmentIndexFile, type ExpectedBinding } from '../../src/event-index/segment-index-file.js';
import type { IndexedFrame } from '../../src/event-index/segment-index-format.js';
import { readBinding, writeIndexFile } from '../../src/event-index/segment-index-write.js';

export const SEG = '/d/000007.bps';
export const IDX = '/d/000007.bpi';

/** A deterministic generator (LCG): fixtures reproduce from their seed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32;
}

export interface FixtureShape {
  readonly n: number;
  readonly entities: readonly string[];
  readonly seed: number;
  /** Chance that the next global sequence jumps (a compacted segment). */
  readonly jumpRate?: number;
  /** Chance that an event is encrypted, and the pool of scopes it picks from. */
  readonly encryptRate?: number;
  readonly scopes?: readonly Uint8Array[];
}

/** `n` committed events over `entities`, in ascending global sequence, and a segment of the right length. */
export function randomSegment(shape: FixtureShape): { frames: IndexedFrame[]; segment: Uint8Array } {
  const rnd = rng(shape.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const scopes = shape.scopes ?? [new Uint8Array([1, 0x61]), new Uint8Array([3, 0x10, 0x01]), new Uint8Array([2, 1])];
  const frames: IndexedFrame[] = [];
  const perEntity = new Map<string, number>();
  let offset = 32;
  let g = 1 + Math.floor(rnd() * 1000);
  for (let i = 0; i < shape.n; i++) {
    const entity = pick(shape.entities);
    const seq = (perEntity.get(entity) ?? 0) + 1;
    perEntity.set(entity, seq);
    const length = 40 + Math.floor(rnd() * 200);
    const encrypted = rnd() < (shape.encryptRate ?? 0);
    frames.push({
      idBytes: new Uint8Array(16).map(() => Math.floor(rnd() * 256)),
      globalSequence: g,
      entitySequence: seq,
      entity,
      offset,
      length,
      contentHash: new Uint8Array(32).map(() => Math.floor(rnd() * 256)),
      committedAt: 1_700_000_000_000 + Math.floor(rnd() * 1e9),
      flags: Math.floor(rnd() * 8),
      encryption: encrypted ? { scope: pick(scopes), generation: Math.floor(rnd() * 4) } : undefined,
    });
    offset += length;
    g += rnd() < (shape.jumpRate ?? 0) ? 2 + Math.floor(rnd() * 40) : 1;
  }
  const segment = new Uint8Array(Math.max(offset, 64)).map((_, i) => (i * 7 + shape.seed) & 0xff);
  return { frames, segment };
}

/** Writes the index file of `frames` beside its fake segment; returns the file system and the binding to open with. */
export async function writtenFile(frames: IndexedFrame[], segment: Uint8Array): Promise<{ fs: SimFs; binding: ExpectedBinding }> {
  const fs = new SimFs(3);
  fs.putFile(SEG, segment);
  const seg = await fs.open(SEG);
  await writeIndexFile(fs, IDX, seg, 7, segment.length, 0xdeadbeef, frames);
  const binding = await readBinding(seg, 7, segment.length);
  await seg.close();
  return { fs, binding };
}

export async function openFile(fs: SimFs, binding: ExpectedBinding, cache = new BlockCache()): Promise<SegmentIndexFile> {
  const o = await SegmentIndexFile.open(fs, IDX, binding, cache);
  if (o.file === undefined) throw new Error(`stale: ${o.stale}`);
  return o.file;
}

/** The last event of each entity, by walking the events. */
export function bruteHeads(frames: readonly IndexedFrame[]): Map<string, IndexedFrame> {
  const out = new Map<string, IndexedFrame>();
  for (const f of frames) out.set(f.entity, f);
  return out;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** What an open derives from walking the events, folded the slow way. */
export function bruteSummary(frames: readonly IndexedFrame[]) {
  const scopes = new Map<string, number>();
  for (const f of frames) if (f.encryption !== undefined) scopes.set(hex(f.encryption.scope), Math.max(scopes.get(hex(f.encryption.scope)) ?? -1, f.encryption.generation));
  const jumps = [];
  for (let i = 1; i < frames.length; i++) if (frames[i]!.globalSequence !== frames[i - 1]!.globalSequence + 1) jumps.push({ last: frames[i - 1]!.globalSequence, next: frames[i]!.globalSequence });
  const encrypted = frames.filter((f) => f.encryption !== undefined);
  const scopeList = [...scopes].map(([s, generation]) => ({ scope: s, generation }));
  scopeList.sort((a, b) => Buffer.compare(Buffer.from(a.scope, 'hex'), Buffer.from(b.scope, 'hex')));
  return {
    summary: {
      sealedEvents: frames.filter((f) => (f.flags & 0x04) !== 0).length,
      encryptedEvents: encrypted.length,
      flagsUnion: frames.reduce((u, f) => u | f.flags, 0),
      maxCommittedAt: frames.reduce((m, f) => Math.max(m, f.committedAt), 0),
      firstEncryptedId: hex(encrypted[0]?.idBytes ?? new Uint8Array(16)),
      jumpCount: jumps.length,
      scopeCount: scopes.size,
      maxGeneration: Math.max(0, ...scopes.values()),
    },
    lists: { jumps, scopes: scopeList },
  };
}
