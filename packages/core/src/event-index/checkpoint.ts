// The cold-start checkpoint: the index of everything committed up to a watermark, written at close,
// so open reads it and scans only the tail. It is never trusted blindly: any mismatch with the segment
// files (or damage) means a full scan — the scan is always the fallback (INV-CRASH-ORACLE).

import { crc32 } from 'node:zlib';
import { carray, cbin, cmap, cstr, cuint, decodeCanonical, encodeCanonical, type CanonicalValue } from '../encoding/canonical.js';
import { bytesEqual } from '../encoding/hex.js';
import type { IndexEntry } from './entry.js';
import { EntryRecords, NO_EXTRA, RECORD_BYTES, REC, StringTable, writeRecord, type RecordExtra } from './entry-records.js';

export const CHECKPOINT_FILE = 'index.checkpoint';
const MAGIC = new TextEncoder().encode('BPCKPT');
const VERSION = 1;
const ENTRY_BYTES = RECORD_BYTES;
const NONE = NO_EXTRA;

export interface CheckpointSegment {
  readonly id: number;
  /** Committed length at checkpoint time: the segment's prefix the checkpoint indexes. */
  readonly committedEnd: number;
  /** The segment's 32-byte header: identifies the file (a compaction output has another). */
  readonly header: Uint8Array;
  /** CRC-32 of bytes [0, committedEnd): any change to the indexed bytes voids the checkpoint. */
  readonly crc: number;
}

export interface Checkpoint {
  readonly segments: readonly CheckpointSegment[];
  readonly lastSeen: number;
  readonly lastInCompacted: boolean;
  readonly lastCommittedAt: number;
  /** Entries in compaction.log when written: a compaction since makes the checkpoint stale. */
  readonly compactions: number;
  readonly entries: readonly IndexEntry[];
}

/** A checkpoint as read: its entries are held as records (what open installs as is); `entries` makes objects on first use. */
export interface DecodedCheckpoint extends Checkpoint {
  /** The entries as records [0, count): open adopts them as its active tier, which may append more after them. */
  readonly records: EntryRecords;
  /** How many entries the checkpoint lists (records.count only until open appends to them). */
  readonly count: number;
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/** Records [from, to) of an EntryRecords: what the active tier hands the checkpoint without an object per entry. */
export interface RecordRange {
  readonly records: EntryRecords;
  readonly from: number;
  readonly to: number;
}

/** The canonical map of an entry's encryption and extensions (the checkpoint's `extra`). */
function encodeExtra(encryption: IndexEntry['encryption'], extensions: IndexEntry['extensions']): Uint8Array {
  const fields: [CanonicalValue, CanonicalValue][] = [];
  if (encryption !== undefined) fields.push([cstr('x'), carray([cbin(encryption.scope), cbin(encryption.nonce), cuint(encryption.generation)])]);
  if (extensions !== undefined) fields.push([cstr('r'), cmap([...extensions].map(([k, v]) => [cstr(k), cbin(v)]))]);
  return encodeCanonical(cmap(fields));
}

/** Encodes the checkpoint. Fixed 164-byte records keep decoding a million entries cheap. */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const strings = new Map<string, number>();
  const intern = (s: string) => {
    let i = strings.get(s);
    if (i === undefined) {
      i = strings.size;
      strings.set(s, i);
    }
    return i;
  };
  const extras: Uint8Array[] = [];
  const ids = c.entries.map((e) => {
    let extra = NONE;
    if (e.encryption !== undefined || e.extensions !== undefined) {
      extra = extras.length;
      extras.push(encodeExtra(e.encryption, e.extensions));
    }
    return [intern(e.entity), intern(e.scope), extra] as const;
  });
  return encodeImage(c, c.entries.length, [...strings.keys()], extras, (out, ov, at) => {
    c.entries.forEach((e, i) => {
      const [entity, scope, extra] = ids[i]!;
      // The record layout is the resident one (entry-records.ts); bytes 154..164 are reserved (zero).
      writeRecord(out, ov, at + i * ENTRY_BYTES, e, entity, scope, extra);
    });
  });
}

/**
 * Encodes the checkpoint of the entries held in `range`: byte for byte what encodeCheckpoint writes for the same
 * entries, each record copied as it is, straight into the image, with its names and extra renumbered into the
 * image's tables (one buffer the image's size, no per-entry object or string lookup).
 */
export function encodeCheckpointRecords(c: Omit<Checkpoint, 'entries'>, range: RecordRange): Uint8Array {
  const held = range.records;
  // Held name number → image name number (-1: not in the image yet), in order of first use as encodeCheckpoint interns.
  const renumber = new Int32Array(held.strings.size).fill(-1);
  const names: string[] = [];
  const intern = (id: number) => {
    let i = renumber[id]!;
    if (i < 0) {
      i = names.length;
      renumber[id] = i;
      names.push(held.strings.get(id));
    }
    return i;
  };
  const extras: Uint8Array[] = [];
  for (let k = range.from; k < range.to; k++) {
    intern(held.entityId(k));
    intern(held.scopeId(k));
    const x = held.extra(k);
    if (x !== undefined && (x.encryption !== undefined || x.extensions !== undefined)) extras.push(encodeExtra(x.encryption, x.extensions));
  }
  return encodeImage(c, range.to - range.from, names, extras, (out, ov, at) => {
    let extra = 0;
    for (let k = range.from; k < range.to; k++) {
      const p = at + (k - range.from) * ENTRY_BYTES;
      held.copyRecord(k, out, p);
      // Reserved bytes are zero in an image, whatever a checkpoint read at open carried there.
      out.fill(0, p + REC.extra + 4, p + ENTRY_BYTES);
      ov.setUint32(p + REC.entity, renumber[held.entityId(k)]!, true);
      ov.setUint32(p + REC.scope, renumber[held.scopeId(k)]!, true);
      const x = held.extra(k);
      ov.setUint32(p + REC.extra, x !== undefined && (x.encryption !== undefined || x.extensions !== undefined) ? extra++ : NONE, true);
    }
  });
}

/** The image of `count` records that `fill` writes at the offset it is given, with the name and extra tables. */
function encodeImage(
  c: Omit<Checkpoint, 'entries'>,
  count: number,
  names: readonly string[],
  extras: readonly Uint8Array[],
  fill: (out: Uint8Array, ov: DataView, at: number) => void,
): Uint8Array {
  const stringBytes = names.map((s) => utf8.encode(s));
  let size = 12 + 4 + c.segments.length * (4 + 8 + 32 + 4) + 8 + 1 + 8 + 4 + 4 + 4 + count * ENTRY_BYTES + 4;
  for (const s of stringBytes) size += 4 + s.length;
  for (const x of extras) size += 4 + x.length;
  // One buffer: header, then the body the CRC covers (a records buffer and a body copied into the image made the
  // close of a full segment hold the image three times).
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 12;
  dv.setUint32(p, c.segments.length, true);
  p += 4;
  for (const s of c.segments) {
    dv.setUint32(p, s.id, true);
    dv.setFloat64(p + 4, s.committedEnd, true);
    out.set(s.header, p + 12);
    dv.setUint32(p + 44, s.crc, true);
    p += 48;
  }
  dv.setFloat64(p, c.lastSeen, true);
  out[p + 8] = c.lastInCompacted ? 1 : 0;
  dv.setFloat64(p + 9, c.lastCommittedAt, true);
  dv.setUint32(p + 17, c.compactions, true);
  p += 21;
  dv.setUint32(p, stringBytes.length, true);
  p += 4;
  for (const s of stringBytes) {
    dv.setUint32(p, s.length, true);
    out.set(s, p + 4);
    p += 4 + s.length;
  }
  dv.setUint32(p, count, true);
  p += 4;
  fill(out, dv, p);
  p += count * ENTRY_BYTES;
  dv.setUint32(p, extras.length, true);
  p += 4;
  for (const x of extras) {
    dv.setUint32(p, x.length, true);
    out.set(x, p + 4);
    p += 4 + x.length;
  }
  out.set(MAGIC, 0);
  dv.setUint16(6, VERSION, true);
  dv.setUint32(8, crc32(out.subarray(12)), true);
  return out;
}

/**
 * Bytes of the image read at a time at open: what reading a checkpoint holds beyond the records it installs,
 * whatever the image's size (one item longer than this, a long name or extra, is read whole).
 */
export const CHECKPOINT_READ_BYTES = 1 << 20;

/**
 * Where an image is read from: its size and positioned reads of exactly the length asked (a file, or bytes). The
 * decoder keeps nothing of what a read returns past the next read: a source may reuse one buffer.
 */
export interface CheckpointBytes {
  readonly size: number;
  read(pos: number, length: number): Promise<Uint8Array>;
}

/** A read the decoder asks its driver for: `length` bytes of the image at `pos`. */
interface Want {
  readonly pos: number;
  readonly length: number;
}

/** Decodes a checkpoint held whole in memory, or undefined when it is not one (damaged, truncated, another version). */
export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint | undefined {
  try {
    const run = decodeImage(bytes.length, bytes.length);
    let step = run.next();
    while (step.done !== true) step = run.next(bytes.subarray(step.value.pos, step.value.pos + step.value.length));
    return step.value;
  } catch {
    return undefined;
  }
}

/**
 * Reads and decodes a checkpoint `chunk` bytes at a time, straight into the records it installs: never the whole
 * image at once. Undefined when it is not one; a failed read throws (the caller decides what that means).
 */
export async function readCheckpoint(src: CheckpointBytes, chunk = CHECKPOINT_READ_BYTES): Promise<DecodedCheckpoint | undefined> {
  const run = decodeImage(src.size, chunk);
  let got: Uint8Array | undefined;
  for (;;) {
    let step: IteratorResult<Want, DecodedCheckpoint | undefined>;
    try {
      step = got === undefined ? run.next() : run.next(got);
    } catch {
      return undefined;
    }
    if (step.done === true) return step.value;
    got = await src.read(step.value.pos, step.value.length);
    if (got.length !== step.value.length) throw new Error(`short read of the checkpoint: ${got.length} of ${step.value.length} bytes at offset ${step.value.pos}`);
  }
}

/**
 * A forward window over an image of `size` bytes, filled by the driver (`yield* need(n)`), folding every body byte
 * (from offset 12) into the CRC-32 once as the window moves on.
 */
class ImageWindow {
  buf: Uint8Array = new Uint8Array(0);
  dv = new DataView(this.buf.buffer);
  /** Image offset of buf[0], and of the next byte to decode. */
  at = 0;
  pos = 0;
  crc = 0;
  #crcDone = 12;

  constructor(
    readonly size: number,
    readonly chunk: number,
  ) {}

  /** Offset in `buf` of the next byte. */
  get off(): number {
    return this.pos - this.at;
  }

  /** Bytes readable in `buf` from `pos`. */
  get available(): number {
    return this.at + this.buf.length - this.pos;
  }

  /** Makes [pos, pos + n) readable at buf[off]; throws past the end of the image (not a checkpoint). */
  *need(n: number): Generator<Want, void, Uint8Array> {
    if (this.pos + n > this.size) throw new Error('truncated');
    if (n <= this.available) return;
    this.#fold();
    const length = Math.min(Math.max(this.chunk, n), this.size - this.pos);
    this.buf = yield { pos: this.pos, length };
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.at = this.pos;
  }

  *u32(): Generator<Want, number, Uint8Array> {
    yield* this.need(4);
    const v = this.dv.getUint32(this.off, true);
    this.pos += 4;
    return v;
  }

  /** Whether the whole image was decoded and its body's CRC-32 is `expected`. */
  finish(expected: number): boolean {
    this.#fold();
    return this.pos === this.size && this.#crcDone === this.size && this.crc === expected;
  }

  /** Folds what the window holds past what was folded already into the CRC (windows only move forward). */
  #fold(): void {
    const end = this.at + this.buf.length;
    if (end > this.#crcDone && this.#crcDone >= this.at) {
      this.crc = crc32(this.buf.subarray(this.#crcDone - this.at), this.crc);
      this.#crcDone = end;
    }
  }
}

/**
 * The decoder of an image of `size` bytes, asking its driver for at most max(`chunk`, one item) bytes at a time:
 * the records are copied as they are read into the resident layout (their names renumbered into one string
 * table), and the extras, which follow them, are set on them at the end. No object per entry. Returns undefined
 * (or throws) when the bytes are not a checkpoint; nothing is trusted before the CRC-32 over the whole body
 * checks out at the end.
 */
function* decodeImage(size: number, chunk: number): Generator<Want, DecodedCheckpoint | undefined, Uint8Array> {
  const w = new ImageWindow(size, chunk);
  yield* w.need(12);
  if (!bytesEqual(w.buf.subarray(w.off, w.off + 6), MAGIC) || w.dv.getUint16(w.off + 6, true) !== VERSION) return undefined;
  const expectedCrc = w.dv.getUint32(w.off + 8, true);
  w.pos += 12;
  const segments: CheckpointSegment[] = [];
  const segCount = yield* w.u32();
  for (let i = 0; i < segCount; i++) {
    yield* w.need(48);
    const p = w.off;
    const id = w.dv.getUint32(p, true);
    // Segment ids start at 1: a checkpoint naming id 0 was not written by a store (it is ignored, as a bad CRC is).
    if (id === 0) return undefined;
    segments.push({ id, committedEnd: w.dv.getFloat64(p + 4, true), header: w.buf.slice(p + 12, p + 44), crc: w.dv.getUint32(p + 44, true) });
    w.pos += 48;
  }
  yield* w.need(21);
  const lastSeen = w.dv.getFloat64(w.off, true);
  const lastInCompacted = w.buf[w.off + 8] === 1;
  const lastCommittedAt = w.dv.getFloat64(w.off + 9, true);
  const compactions = w.dv.getUint32(w.off + 17, true);
  w.pos += 21;
  // The names, renumbered into the resident string table as they are read.
  const table = new StringTable();
  const stringCount = yield* w.u32();
  const remap: number[] = [];
  for (let i = 0; i < stringCount; i++) {
    const n = yield* w.u32();
    yield* w.need(n);
    remap.push(table.id(utf8d.decode(w.buf.subarray(w.off, w.off + n))));
    w.pos += n;
  }
  const count = yield* w.u32();
  // The records and the extras' count must fit what is left: no chunk is allocated for records that are not there.
  if (count * ENTRY_BYTES + 4 > size - w.pos) return undefined;
  const records = new EntryRecords(table);
  let withExtra = 0;
  const perRead = Math.max(1, Math.floor(chunk / ENTRY_BYTES));
  for (let done = 0; done < count; ) {
    let k = Math.min(count - done, Math.floor(w.available / ENTRY_BYTES));
    if (k === 0) {
      k = Math.min(count - done, perRead);
      yield* w.need(k * ENTRY_BYTES);
    }
    const from = w.off;
    records.pushRaw(w.buf, from, k);
    for (let j = 0; j < k; j++) {
      const r = from + j * ENTRY_BYTES;
      const entity = remap[w.dv.getUint32(r + REC.entity, true)];
      const scope = remap[w.dv.getUint32(r + REC.scope, true)];
      if (entity === undefined || scope === undefined) return undefined;
      records.setNames(done + j, entity, scope);
      if (w.dv.getUint32(r + REC.extra, true) !== NONE) withExtra++;
    }
    w.pos += k * ENTRY_BYTES;
    done += k;
  }
  // Each extra is decoded as it is read (it keeps copies of its bytes, never the window); one that does not
  // decode fails the checkpoint only if a record names it.
  const extraCount = yield* w.u32();
  const extras: (RecordExtra | null)[] = [];
  for (let i = 0; i < extraCount; i++) {
    const n = yield* w.u32();
    yield* w.need(n);
    let x: RecordExtra | undefined;
    try {
      x = decodeExtra(w.buf.subarray(w.off, w.off + n));
    } catch {
      x = undefined;
    }
    extras.push(x ?? null);
    w.pos += n;
  }
  if (!w.finish(expectedCrc)) return undefined;
  // The records' extra fields still hold the image's numbers: each becomes the decoded extra (in record order).
  for (let i = 0; withExtra > 0 && i < count; i++) {
    const n = records.extraNumber(i);
    if (n === NONE) continue;
    const x = extras[n];
    if (x === undefined || x === null) return undefined;
    records.setExtra(i, x);
    withExtra--;
  }
  let entries: IndexEntry[] | undefined;
  return {
    segments,
    lastSeen,
    lastInCompacted,
    lastCommittedAt,
    compactions,
    records,
    count,
    get entries(): IndexEntry[] {
      return (entries ??= records.entries(0, count));
    },
  };
}

/** How many events a checkpoint lists, without making an object per entry of a decoded one. */
export function checkpointEvents(c: Checkpoint): number {
  const d = c as Partial<DecodedCheckpoint>;
  return d.records instanceof EntryRecords && d.count !== undefined ? d.count : c.entries.length;
}

/** An extra's canonical map (`x`: encryption, `r`: extensions), or undefined when it is not one. */
function decodeExtra(xb: Uint8Array): RecordExtra | undefined {
  let encryption: IndexEntry['encryption'];
  let extensions: IndexEntry['extensions'];
  const x = decodeCanonical(xb);
  if (x.t !== 'map') return undefined;
  for (const [k, v] of x.entries) {
    if (k.t === 'str' && k.v === 'x' && v.t === 'array' && v.items[0]?.t === 'bin' && v.items[1]?.t === 'bin' && v.items[2]?.t === 'int') {
      encryption = { scope: v.items[0].v.slice(), nonce: v.items[1].v.slice(), generation: Number(v.items[2].v) };
    } else if (k.t === 'str' && k.v === 'r' && v.t === 'map') {
      extensions = new Map(v.entries.map(([ek, ev]) => [ek.t === 'str' ? ek.v : '', ev.t === 'bin' ? ev.v.slice() : new Uint8Array(0)]));
    } else return undefined;
  }
  return { encryption, extensions };
}
