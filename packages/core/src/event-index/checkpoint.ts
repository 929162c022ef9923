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
  return encodeImage(c, c.entries.length, (records, rv, intern, extras) => {
    c.entries.forEach((e, i) => {
      let extra = NONE;
      if (e.encryption !== undefined || e.extensions !== undefined) {
        extra = extras.length;
        extras.push(encodeExtra(e.encryption, e.extensions));
      }
      // The record layout is the resident one (entry-records.ts); bytes 154..164 are reserved (zero).
      writeRecord(records, rv, i * ENTRY_BYTES, e, intern(e.entity), intern(e.scope), extra);
    });
  });
}

/**
 * Encodes the checkpoint of the entries held in `range`: byte for byte what encodeCheckpoint writes for the same
 * entries, each record copied as it is with its names and extra renumbered into the image's tables.
 */
export function encodeCheckpointRecords(c: Omit<Checkpoint, 'entries'>, range: RecordRange): Uint8Array {
  const held = range.records;
  return encodeImage(c, range.to - range.from, (records, rv, intern, extras) => {
    for (let k = range.from; k < range.to; k++) {
      const p = (k - range.from) * ENTRY_BYTES;
      held.copyRecord(k, records, p);
      // Reserved bytes are zero in an image, whatever a checkpoint read at open carried there.
      records.fill(0, p + REC.extra + 4, p + ENTRY_BYTES);
      rv.setUint32(p + REC.entity, intern(held.entity(k)), true);
      rv.setUint32(p + REC.scope, intern(held.scope(k)), true);
      const x = held.extra(k);
      let extra = NONE;
      if (x !== undefined && (x.encryption !== undefined || x.extensions !== undefined)) {
        extra = extras.length;
        extras.push(encodeExtra(x.encryption, x.extensions));
      }
      rv.setUint32(p + REC.extra, extra, true);
    }
  });
}

/** The image around `count` records that `fill` writes (with the string and extra tables it grows). */
function encodeImage(
  c: Omit<Checkpoint, 'entries'>,
  count: number,
  fill: (records: Uint8Array, rv: DataView, intern: (s: string) => number, extras: Uint8Array[]) => void,
): Uint8Array {
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
  const records = new Uint8Array(count * ENTRY_BYTES);
  fill(records, new DataView(records.buffer), intern, extras);
  const stringBytes = [...strings.keys()].map((s) => utf8.encode(s));
  let size = 4 + c.segments.length * (4 + 8 + 32 + 4) + 8 + 1 + 8 + 4 + 4 + 4 + records.length + 4;
  for (const s of stringBytes) size += 4 + s.length;
  for (const x of extras) size += 4 + x.length;
  const body = new Uint8Array(size);
  const dv = new DataView(body.buffer);
  let p = 0;
  dv.setUint32(p, c.segments.length, true);
  p += 4;
  for (const s of c.segments) {
    dv.setUint32(p, s.id, true);
    dv.setFloat64(p + 4, s.committedEnd, true);
    body.set(s.header, p + 12);
    dv.setUint32(p + 44, s.crc, true);
    p += 48;
  }
  dv.setFloat64(p, c.lastSeen, true);
  body[p + 8] = c.lastInCompacted ? 1 : 0;
  dv.setFloat64(p + 9, c.lastCommittedAt, true);
  dv.setUint32(p + 17, c.compactions, true);
  p += 21;
  dv.setUint32(p, stringBytes.length, true);
  p += 4;
  for (const s of stringBytes) {
    dv.setUint32(p, s.length, true);
    body.set(s, p + 4);
    p += 4 + s.length;
  }
  dv.setUint32(p, count, true);
  p += 4;
  body.set(records, p);
  p += records.length;
  dv.setUint32(p, extras.length, true);
  p += 4;
  for (const x of extras) {
    dv.setUint32(p, x.length, true);
    body.set(x, p + 4);
    p += 4 + x.length;
  }
  const out = new Uint8Array(12 + body.length);
  out.set(MAGIC, 0);
  const ov = new DataView(out.buffer);
  ov.setUint16(6, VERSION, true);
  ov.setUint32(8, crc32(body), true);
  out.set(body, 12);
  return out;
}

/** Decodes a checkpoint, or undefined when it is not one (damaged, truncated, another version). */
export function decodeCheckpoint(bytes: Uint8Array): DecodedCheckpoint | undefined {
  try {
    if (bytes.length < 12 || !bytesEqual(bytes.subarray(0, 6), MAGIC)) return undefined;
    const hv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (hv.getUint16(6, true) !== VERSION) return undefined;
    const body = bytes.subarray(12);
    if (crc32(body) !== hv.getUint32(8, true)) return undefined;
    const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    let p = 0;
    const segments: CheckpointSegment[] = [];
    const segCount = dv.getUint32(p, true);
    p += 4;
    for (let i = 0; i < segCount; i++) {
      const id = dv.getUint32(p, true);
      // Segment ids start at 1: a checkpoint naming id 0 was not written by a store (it is ignored, as a bad CRC is).
      if (id === 0) return undefined;
      segments.push({ id, committedEnd: dv.getFloat64(p + 4, true), header: body.slice(p + 12, p + 44), crc: dv.getUint32(p + 44, true) });
      p += 48;
    }
    const lastSeen = dv.getFloat64(p, true);
    const lastInCompacted = body[p + 8] === 1;
    const lastCommittedAt = dv.getFloat64(p + 9, true);
    const compactions = dv.getUint32(p + 17, true);
    p += 21;
    const strings: string[] = [];
    const stringCount = dv.getUint32(p, true);
    p += 4;
    for (let i = 0; i < stringCount; i++) {
      const n = dv.getUint32(p, true);
      strings.push(utf8d.decode(body.subarray(p + 4, p + 4 + n)));
      p += 4 + n;
    }
    const count = dv.getUint32(p, true);
    p += 4;
    const recordsAt = p;
    p += count * ENTRY_BYTES;
    const extraCount = dv.getUint32(p, true);
    p += 4;
    const extras: Uint8Array[] = [];
    for (let i = 0; i < extraCount; i++) {
      const n = dv.getUint32(p, true);
      extras.push(body.subarray(p + 4, p + 4 + n));
      p += 4 + n;
    }
    if (p !== body.length) return undefined;
    // The records are copied into the resident layout as they are (the id fields renumbered into one string table):
    // no object per entry. A copy: the entries outlive the file buffer, which an Fs may reuse.
    const table = new StringTable();
    const remap = strings.map((x) => table.id(x));
    const decodedExtras: (RecordExtra | undefined)[] = new Array(extras.length);
    const records = new EntryRecords(table);
    const base = records.count;
    records.pushRaw(body, recordsAt, count);
    for (let i = 0; i < count; i++) {
      const r = recordsAt + i * ENTRY_BYTES;
      const extra = dv.getUint32(r + REC.extra, true);
      let x: RecordExtra | undefined;
      if (extra !== NONE) {
        x = decodedExtras[extra];
        if (x === undefined) {
          const xb = extras[extra];
          if (xb === undefined) return undefined;
          x = decodeExtra(xb);
          if (x === undefined) return undefined;
          decodedExtras[extra] = x;
        }
      }
      const entity = remap[dv.getUint32(r + REC.entity, true)];
      const scope = remap[dv.getUint32(r + REC.scope, true)];
      if (entity === undefined || scope === undefined) return undefined;
      records.setIds(base + i, entity, scope, x);
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
  } catch {
    return undefined;
  }
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
