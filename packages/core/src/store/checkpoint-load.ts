// Decides at open whether the cold-start checkpoint may stand in for the scan of its segments. It is an
// index, never an authority (INV-DERIVED-NOT-AUTHORITY): every entry is checked against its frame.

import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { bytesEqual, toHex } from '../encoding/hex.js';
import { CHECKPOINT_FILE, CHECKPOINT_READ_BYTES, readCheckpoint, type Checkpoint, type DecodedCheckpoint } from '../event-index/checkpoint.js';
import type { IndexEntry } from '../event-index/entry.js';
import { EntryRecords } from '../event-index/entry-records.js';
import type { EventIndex } from '../event-index/event-index.js';
import { CanonicalBodyMatcher, frameMismatch } from '../event-index/frame-match.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, MAX_FRAME_BODY_BYTES, SEGMENT_HEADER_BYTES, SegmentFlags } from '../segment/format.js';
import { decodeFrameBody, EventFlags, readFrameHeader } from '../segment/frame.js';
import type { RecoveryItem, RecoveryStart, SequenceGap } from '../segment/recovery.js';
import { ReadWindow, WINDOW_BYTES } from '../segment/window.js';
import type { Fs } from '../fs/fs.js';
import type { ResolvedOptions } from './options.js';

export interface UsableCheckpoint {
  readonly checkpoint: DecodedCheckpoint;
  /** Segments the checkpoint covers completely (not scanned). */
  readonly whole: { readonly id: number; readonly path: string; readonly committedEnd: number; readonly crc: number }[];
  /** What recovery scans: the checkpoint's last segment from its watermark, then newer segments. */
  readonly tail: RecoveryItem[];
  /** Where recovery of the tail starts: derived from the frames walked, never from the checkpoint's word. */
  readonly start: { readonly lastSeen: number; readonly lastInCompacted: boolean };
  /** Sequence jumps inside the walked segments: the caller proves each against compaction's record. */
  readonly gaps: SequenceGap[];
  /** Latest commit time among the walked events. */
  readonly lastCommittedAt: number;
}

export interface CheckpointLoad {
  /** The decoded checkpoint, usable or not (what it recorded is evidence of what the directory held). */
  readonly decoded: DecodedCheckpoint | undefined;
  readonly usable: UsableCheckpoint | undefined;
  /**
   * Set when the segments are byte-identical to the ones the checkpoint was written over, yet its
   * entries do not describe their frames: the caller scans and confirms with `checkpointContradiction`.
   */
  readonly suspect: string | undefined;
}

/** Tracks what recovery would commit while the walk streams frames (same rules as segment/recovery). */
class CommitRules {
  lastSeen: number;
  lastInCompacted: boolean;
  lastCommittedAt = 0;
  readonly gaps: SequenceGap[] = [];
  #batchFirst = -1;
  #batchSeen = 0;
  #sealed = 0;
  #sealedFirst = -1;
  #sealedLast = -1;

  constructor(start: RecoveryStart) {
    this.lastSeen = start.lastSeen;
    this.lastInCompacted = start.lastInCompacted;
  }

  startSegment(compacted: boolean): void {
    if (compacted) this.lastInCompacted = true;
  }

  /** Why recovery would not commit this event frame as the next one, or undefined. */
  event(path: string, offset: number, g: number, flags: number, batch: { first: number; index: number; count: number } | undefined, compacted: boolean): string | undefined {
    if (g <= this.lastSeen) return `global sequence ${g} repeats or goes back`;
    if (g !== this.lastSeen + 1) {
      if (!compacted && !this.lastInCompacted) return `global sequences ${this.lastSeen + 1}..${g - 1} are missing`;
      this.gaps.push({ last: this.lastSeen, next: g, file: path, offset });
    }
    this.lastSeen = g;
    this.lastInCompacted = compacted;
    if (compacted) return undefined;
    if (batch !== undefined) {
      if (batch.index === 0) {
        if (this.#batchFirst !== -1) return 'an incomplete batch';
        this.#batchFirst = batch.first;
        this.#batchSeen = 0;
      } else if (this.#batchFirst !== batch.first || this.#batchSeen !== batch.index) return 'an incomplete batch';
      this.#batchSeen++;
      if (this.#batchSeen === batch.count) this.#batchFirst = -1;
    } else if (this.#batchFirst !== -1) return 'an incomplete batch';
    if ((flags & EventFlags.SEALED) !== 0) {
      if (this.#sealed++ === 0) this.#sealedFirst = g;
      this.#sealedLast = g;
    } else if (this.#sealed > 0) return 'an unsealed group';
    return undefined;
  }

  seal(first: number, last: number, count: number, compacted: boolean): string | undefined {
    if (compacted) return undefined;
    if (this.#batchFirst !== -1 || count === 0 || this.#sealed !== count || this.#sealedFirst !== first || this.#sealedLast !== last) {
      return 'a seal that does not match the events before it';
    }
    this.#sealed = 0;
    return undefined;
  }

  endSegment(): string | undefined {
    return this.#batchFirst !== -1 || this.#sealed > 0 ? 'an incomplete batch or group at the end of a segment' : undefined;
  }
}

/**
 * Loads the checkpoint and checks it against the segment files while streaming them once: the same
 * segments, in order, with the same headers, lengths and CRC-32s (benign staleness: scan), and every
 * event frame equal, field by field and in order, to the next entry, under recovery's commit rules
 * (a contradiction: scan, and the caller confirms it as damage). Any doubt means the full scan.
 */
export async function loadCheckpoint(
  opts: ResolvedOptions,
  segmentsAfter: readonly { readonly id: number; readonly path: string }[],
  compactions: number,
  after: RecoveryStart = { lastSeen: 0, lastInCompacted: false },
  scanFirst?: (segments: readonly { readonly id: number; readonly path: string }[]) => Promise<RecoveryStart>,
): Promise<CheckpointLoad> {
  let present = segmentsAfter;
  let start = after;
  const none: CheckpointLoad = { decoded: undefined, usable: undefined, suspect: undefined };
  if (opts.checkpoint === 'off') return none;
  const { fs, dir } = opts;
  const path = join(dir, CHECKPOINT_FILE);
  let c: DecodedCheckpoint | undefined;
  try {
    if ((await fs.stat(path)) === null) return none;
    c = await readCheckpointFile(fs, path);
  } catch (err) {
    opts.onWarning(`cold-start checkpoint not used (unreadable: ${(err as Error).message}): scanning every segment`, 'BATPAK_CHECKPOINT_FALLBACK');
    return none;
  }
  const stale = (why: string): CheckpointLoad => {
    opts.onWarning(`cold-start checkpoint not used (${why}): scanning every segment`, 'BATPAK_CHECKPOINT_FALLBACK');
    return { decoded: c, usable: undefined, suspect: undefined };
  };
  if (c === undefined) return stale('damaged or another version');
  if (c.compactions !== compactions) return stale('a compaction ran since');
  // It starts at an earlier segment (those are served from index files now: written or rebuilt since it was):
  // its part for them is not needed, and what it holds of the segments after them is checked as usual.
  const used = present.length === 0 ? c : coveredFrom(c, present[0]!.id);
  if (used === undefined) return { decoded: c, usable: undefined, suspect: undefined };
  if (used.segments.length === 0 || used.segments.length > present.length) return stale('segments changed');
  // It starts at a later segment (the segments before it were served from index files when it was written,
  // and their files are gone now): those are scanned first (`scanFirst`), and it covers the ones after them.
  const skip = present.findIndex((p) => p.id === used.segments[0]!.id);
  if (skip > 0 && scanFirst !== undefined && used.segments.length <= present.length - skip) {
    start = await scanFirst(present.slice(0, skip));
    present = present.slice(skip);
  }
  const whole: UsableCheckpoint['whole'] = [];
  const rules = new CommitRules(start);
  const matcher = new CanonicalBodyMatcher();
  // One window buffer for the whole walk: a fresh 4 MiB buffer per window left the size of the walked segments in
  // garbage ArrayBuffers (~40 MiB at a million events), often still resident when open returned.
  // Grown to a window's size by the first read that needs it (a store whose active segment is nearly empty never does:
  // a zero-filled 4 MiB buffer is 4 MiB of resident memory for nothing).
  const buffer = { bytes: new Uint8Array(0) };
  // Each claimed entry is made from its record for the comparison only (short-lived): the records are what open keeps.
  const records = used.records;
  let next = 0;
  let suspect: string | undefined;
  for (let i = 0; i < used.segments.length; i++) {
    const s = used.segments[i]!;
    const file = present[i]!;
    if (file.id !== s.id) return stale('segments changed');
    const last = i === used.segments.length - 1;
    let w: ReusedWindow;
    try {
      w = new ReusedWindow(await ReadWindow.open(fs, file.path), buffer);
    } catch (err) {
      return stale(`segment ${s.id} unreadable: ${(err as Error).message}`);
    }
    try {
      if (last ? w.end < s.committedEnd : w.end !== s.committedEnd) return stale(`segment ${s.id} changed size`);
      if (s.committedEnd < SEGMENT_HEADER_BYTES || !(await w.ensure(0, SEGMENT_HEADER_BYTES))) return stale(`segment ${s.id} changed`);
      const header = w.view(0, SEGMENT_HEADER_BYTES);
      if (!bytesEqual(header, s.header)) return stale(`segment ${s.id} changed`);
      const compacted = (((header[6]! << 8) | header[7]!) & SegmentFlags.COMPACTED) !== 0;
      rules.startSegment(compacted);
      // One pass over every indexed byte: the CRC-32 the checkpoint binds itself to (benign damage),
      // a window at a time, and each frame decoded and compared with the entry that claims it (a forged
      // checkpoint). A frame's own CRC is checked when it is read (get, query, verifyChain).
      let crc = 0;
      let crcDone = 0;
      /** Moves the window; first folds what the old window holds (and was not folded yet) into the CRC. */
      const move = async (p: number, n: number) => {
        const to = Math.min(w.at + w.bytes.length, s.committedEnd);
        if (to > crcDone && crcDone >= w.at) {
          crc = crc32(w.bytes.subarray(crcDone - w.at, to - w.at), crc);
          crcDone = to;
        }
        await w.ensure(p, n);
      };
      let pos = SEGMENT_HEADER_BYTES;
      while (pos < s.committedEnd) {
        if (pos + FRAME_HEADER_BYTES > s.committedEnd) return stale(`segment ${s.id} changed`);
        if (pos < w.at || pos + FRAME_HEADER_BYTES > w.at + w.bytes.length) await move(pos, FRAME_HEADER_BYTES);
        const h = readFrameHeader(w.bytes, pos - w.at);
        const end = pos + FRAME_HEADER_BYTES + h.length;
        if (h.magic !== FRAME_MAGIC || h.length === 0 || h.length > MAX_FRAME_BODY_BYTES || end > s.committedEnd) return stale(`segment ${s.id} changed`);
        if (end > w.at + w.bytes.length) await move(pos, end - pos);
        const body = suspect === undefined ? w.view(pos + FRAME_HEADER_BYTES, h.length) : undefined;
        const claimed: IndexEntry | undefined = next < used.count ? records.lazyEntry(next) : undefined;
        if (body !== undefined && claimed !== undefined && claimed.segmentId === s.id && claimed.offset === pos && claimed.length === end - pos && matcher.matches(body, claimed)) {
          // The frame is byte for byte the canonical encoding of the entry (the common case, no decode).
          const bad = rules.event(file.path, pos, claimed.globalSequence, claimed.flags, claimed.batch, compacted);
          if (bad !== undefined) suspect = `segment ${s.id} at offset ${pos}: ${bad}`;
          else {
            next++;
            if (claimed.committedAt > rules.lastCommittedAt) rules.lastCommittedAt = claimed.committedAt;
          }
        } else if (body !== undefined) {
          let frame;
          try {
            frame = decodeFrameBody(body);
          } catch {
            return stale(`segment ${s.id} changed`);
          }
          const where = `segment ${s.id} at offset ${pos}`;
          if (frame.type === 1) {
            const bad = rules.seal(frame.firstSequence, frame.lastSequence, frame.count, compacted);
            if (bad !== undefined) suspect = `${where}: ${bad}`;
          } else {
            const bad = rules.event(file.path, pos, frame.globalSequence, frame.flags, frame.batch, compacted);
            const e: IndexEntry | undefined = next < used.count ? records.lazyEntry(next) : undefined;
            if (bad !== undefined) suspect = `${where}: ${bad}`;
            else if (e === undefined) suspect = `${where}: event ${toHex(frame.id)} is not in the checkpoint`;
            else if (e.segmentId !== s.id || e.offset !== pos || e.length !== end - pos) {
              suspect = `${where}: event ${toHex(frame.id)} is not in the checkpoint (it names ${e.eventId} at segment ${e.segmentId} offset ${e.offset})`;
            } else {
              const field = frameMismatch(e, frame);
              if (field !== undefined) suspect = `${where}: the checkpoint's ${field} of event ${e.eventId} differs from its frame`;
              else {
                next++;
                if (frame.committedAt > rules.lastCommittedAt) rules.lastCommittedAt = frame.committedAt;
              }
            }
          }
        }
        pos = end;
      }
      if (crcDone < s.committedEnd) crc = crc32(w.bytes.subarray(crcDone - w.at, s.committedEnd - w.at), crc);
      if (crc !== s.crc) return stale(`segment ${s.id} changed`);
      if (suspect === undefined) {
        // Also at the watermark of the last one: the tail scan starts with nothing pending.
        const bad = rules.endSegment();
        if (bad !== undefined) suspect = `segment ${s.id}: ${bad}`;
      }
    } catch (err) {
      return stale(`segment ${s.id} unreadable: ${(err as Error).message}`);
    } finally {
      await w.close();
    }
    if (!last) whole.push({ id: s.id, path: file.path, committedEnd: s.committedEnd, crc: s.crc });
  }
  if (suspect === undefined && next !== used.count) suspect = `the checkpoint lists ${used.count} events, its segments hold ${next}`;
  if (suspect !== undefined) {
    opts.onWarning(`cold-start checkpoint not used (it does not describe the segment files: ${suspect}): scanning every segment`, 'BATPAK_CHECKPOINT_FALLBACK');
    return { decoded: c, usable: undefined, suspect };
  }
  const lastSeg = used.segments[used.segments.length - 1]!;
  // The walk checked [0, committedEnd) of the last one against its CRC: recovery reads only what follows it.
  const tail = [{ id: lastSeg.id, path: present[used.segments.length - 1]!.path, from: lastSeg.committedEnd, fromCrc: lastSeg.crc }, ...present.slice(used.segments.length)];
  return {
    decoded: c,
    suspect: undefined,
    usable: {
      checkpoint: used,
      whole,
      tail,
      start: { lastSeen: rules.lastSeen, lastInCompacted: rules.lastInCompacted },
      gaps: rules.gaps,
      lastCommittedAt: rules.lastCommittedAt,
    },
  };
}

/**
 * A forward window over one segment (ReadWindow's `ensure`, `view`, `bytes`, `at`), read into a buffer the caller
 * shares between windows and segments: each move overwrites the bytes of the window before, so nothing taken from a
 * window may outlive the next `ensure`. Grown only for a frame longer than the buffer.
 */
class ReusedWindow {
  bytes: Uint8Array = new Uint8Array(0);
  at = 0;

  constructor(
    private readonly w: ReadWindow,
    private readonly buffer: { bytes: Uint8Array },
  ) {}

  get end(): number {
    return this.w.end;
  }

  async ensure(pos: number, length: number): Promise<boolean> {
    if (pos + length > this.w.end) return false;
    if (pos >= this.at && pos + length <= this.at + this.bytes.length) return true;
    const want = Math.min(Math.max(WINDOW_BYTES, length), this.w.end - pos);
    if (want > this.buffer.bytes.length) this.buffer.bytes = new Uint8Array(want);
    // Emptied first: a failed read leaves no window that claims bytes it does not hold.
    this.bytes = new Uint8Array(0);
    const into = this.buffer.bytes.subarray(0, want);
    await this.w.readInto(pos, into);
    this.bytes = into;
    this.at = pos;
    return true;
  }

  view(pos: number, length: number): Uint8Array {
    return this.bytes.subarray(pos - this.at, pos - this.at + length);
  }

  close(): Promise<void> {
    return this.w.close();
  }
}

/**
 * Reads the checkpoint file a bounded window at a time (never the whole image: it can be tens of MB, and a
 * buffer that size would still be resident when open returns). Undefined when it is not a checkpoint.
 */
async function readCheckpointFile(fs: Fs, path: string): Promise<DecodedCheckpoint | undefined> {
  const file = await fs.open(path);
  try {
    // Into one buffer reused for every window when the file can (the decoder keeps nothing of a window past the
    // next read): no garbage buffer per MiB interleaved with the record chunks it allocates meanwhile.
    const size = await file.size();
    const buffer = new Uint8Array(Math.min(CHECKPOINT_READ_BYTES, size));
    const read = async (pos: number, length: number): Promise<Uint8Array> => {
      if (file.readInto === undefined || length > buffer.length) return file.readAt(pos, length);
      const into = buffer.subarray(0, length);
      return into.subarray(0, await file.readInto(pos, into));
    };
    return await readCheckpoint({ size, read });
  } finally {
    await file.close().catch(() => undefined);
  }
}

/**
 * The part of `c` from segment `first` on (its entries of earlier segments left out), or undefined when it covers
 * no segment from `first` on. `c` itself when it starts there or later.
 */
function coveredFrom(c: DecodedCheckpoint, first: number): DecodedCheckpoint | undefined {
  if (c.segments.length === 0 || c.segments[0]!.id >= first) return c;
  const keep = c.segments.findIndex((s) => s.id >= first);
  if (keep === -1) return undefined;
  // Records are in global-sequence order, so segment order too: the kept ones are a suffix, copied as records.
  let from = 0;
  while (from < c.count && c.records.segmentId(from) < first) from++;
  const records = new EntryRecords();
  for (let i = from; i < c.count; i++) records.pushFrom(c.records, i);
  const count = c.count - from;
  let entries: IndexEntry[] | undefined;
  return {
    segments: c.segments.slice(keep),
    lastSeen: c.lastSeen,
    lastInCompacted: c.lastInCompacted,
    lastCommittedAt: c.lastCommittedAt,
    compactions: c.compactions,
    records,
    count,
    get entries(): IndexEntry[] {
      return (entries ??= records.entries(0, count));
    },
  };
}

/**
 * After a scan: whether a suspect checkpoint really contradicts the frames (an entry the scan does not
 * confirm field by field, or a committed event in its segments it left out). Undefined when it only
 * described the frames in a way the walk could not follow (the scan's answer stands either way).
 */
export async function checkpointContradiction(c: Checkpoint, scanned: Pick<EventIndex, 'get' | 'scan'>, scanFrom = 1): Promise<string | undefined> {
  const sameHeader = (a: IndexEntry, b: IndexEntry) =>
    frameMismatch(a, {
      type: 0,
      id: b.idBytes,
      globalSequence: b.globalSequence,
      entitySequence: b.entitySequence,
      kind: b.kind,
      entity: b.entity,
      scope: b.scope,
      committedAt: b.committedAt,
      prevHash: b.prevHash,
      contentHash: b.contentHash,
      payloadVersion: b.payloadVersion,
      flags: b.flags,
      batch: b.batch,
      encryption: b.encryption,
      extensions: b.extensions,
      payload: new Uint8Array(0),
    });
  for (const e of c.entries) {
    const s = await scanned.get(e.eventId);
    if (s === undefined) return `the checkpoint lists event ${e.eventId}, which no segment holds`;
    if (s.segmentId !== e.segmentId || s.offset !== e.offset || s.length !== e.length) return `the checkpoint places event ${e.eventId} elsewhere than its frame`;
    const field = sameHeader(e, s);
    if (field !== undefined) return `the checkpoint's ${field} of event ${e.eventId} differs from its frame`;
  }
  const lastSeg = c.segments[c.segments.length - 1];
  if (lastSeg === undefined) return undefined;
  const covered = new Map(c.segments.map((s) => [s.id, s.committedEnd]));
  const listed = new Set(c.entries.map((e) => e.eventId));
  // From the first sequence the checkpoint's segments can hold (the segments before them were not its to cover).
  for await (const page of scanned.scan(scanFrom)) {
    for (const s of page) {
      const end = covered.get(s.segmentId);
      if (end !== undefined && s.offset < end && !listed.has(s.eventId)) {
        return `the checkpoint leaves out event ${s.eventId}, committed in segment ${s.segmentId} at offset ${s.offset}`;
      }
    }
  }
  return undefined;
}
