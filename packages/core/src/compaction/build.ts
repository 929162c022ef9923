// Builds a compaction's output segment in memory from the sources' committed frames: survivors are
// copied as their original bytes (INV-COMPACT-SURVIVOR-BYTES), tombstones keep every field but the payload.

import { crc32 } from 'node:zlib';
import { BatpakError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import type { IndexEntry } from '../event-index/entry.js';
import { coverLeaf, receiptCover } from '../receipt/cover.js';
import { coverFieldsOfFrame } from '../receipt/sign.js';
import { encodeSegmentHeader, FORMAT_VERSION, SegmentFlags } from '../segment/format.js';
import { encodeEventFrame, EventFlags, type EventFrame } from '../segment/frame.js';
import { readPrefix } from '../segment/read.js';
import { scanSegment } from '../segment/scan.js';
import { committedEventOffsets } from '../segment/recovery.js';
import { headerLeaf } from '../receipt/headers.js';
import type { RemovedEvent, TombstonedEvent } from './log.js';

export type Decision = 'keep' | 'drop' | 'tombstone';

export interface SourceSegment {
  readonly id: number;
  readonly path: string;
  readonly committedEnd: number;
}

export interface Survivor {
  readonly entry: IndexEntry;
  /** Offset and length of its frame in the output. */
  readonly offset: number;
  readonly length: number;
  readonly tombstoned: boolean;
}

export interface CompactionOutput {
  readonly chunks: Uint8Array[];
  readonly size: number;
  readonly survivors: Survivor[];
  readonly removed: RemovedEvent[];
  /** Events turned into tombstones (recorded in the signed compaction entry). */
  readonly tombstoned: TombstonedEvent[];
  /** CRC-32 of the whole output (for the cold-start checkpoint). */
  readonly crc: number;
}

export interface BuildInput {
  readonly fs: Fs;
  readonly mergedId: number;
  readonly sources: readonly SourceSegment[];
  /** Committed events by id: frames not in it (an incomplete batch, an unsealed group) are removed. */
  readonly committed: (eventId: string) => IndexEntry | undefined;
  readonly decide: (entry: IndexEntry, frame: EventFrame) => Decision;
  readonly nowMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Events processed so far out of the committed events in the sources. */
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  readonly total?: number;
}

export async function buildCompactionOutput(input: BuildInput): Promise<CompactionOutput> {
  const header = encodeSegmentHeader({ version: FORMAT_VERSION, flags: SegmentFlags.COMPACTED, segmentId: input.mergedId, createdAtMs: input.nowMs });
  const chunks: Uint8Array[] = [header];
  let size = header.length;
  const survivors: Survivor[] = [];
  const removed: RemovedEvent[] = [];
  const tombstoned: TombstonedEvent[] = [];
  let done = 0;
  for (const src of input.sources) {
    if (input.signal?.aborted === true) throw new BatpakError('ERR_ABORTED', 'compaction was aborted', { cause: input.signal.reason });
    const bytes = await readPrefix(input.fs, src.path, src.committedEnd);
    const scan = scanSegment(bytes, { file: src.path, allowTornTail: false });
    // What the frames themselves commit: the only ground on which an event missing from the index is dropped.
    const committedHere = committedEventOffsets(scan.frames, scan.header !== undefined && (scan.header.flags & SegmentFlags.COMPACTED) !== 0);
    for (const sf of scan.frames) {
      const original = bytes.subarray(sf.offset, sf.offset + sf.length);
      const frame = sf.frame;
      if (frame.type === 1) {
        // Seals are kept verbatim: the removed events' leaves in the record let them verify later.
        chunks.push(original);
        size += original.length;
        continue;
      }
      const eventId = toHex(frame.id);
      const entry = input.committed(eventId);
      if (entry === undefined && committedHere.has(sf.offset)) {
        // The index is derived (a forged checkpoint can leave an event out): never delete a committed event for it.
        throw new BatpakError('ERR_CORRUPT_SEGMENT', `corrupt segment ${src.path} at offset ${sf.offset}: committed event ${eventId} is missing from the index; refusing to compact`, {
          details: { file: src.path, offset: sf.offset, eventId },
        });
      }
      if (entry !== undefined && input.onProgress !== undefined && ++done % 4096 === 0) input.onProgress(done, input.total ?? done);
      const decision: Decision = entry === undefined ? 'drop' : input.decide(entry, frame);
      if (decision === 'drop') {
        // The cover leaf is recorded for every removed event, sealed or not: a seal needs it for its
        // group's root, and a head attestation made before the removal needs it to stay verifiable.
        const sealed = (frame.flags & EventFlags.SEALED) !== 0;
        removed.push({
          globalSequence: frame.globalSequence,
          id: new Uint8Array(frame.id),
          contentHash: new Uint8Array(frame.contentHash),
          leaf: coverLeaf(receiptCover(coverFieldsOfFrame(frame))),
          headerLeaf: sealed ? headerLeaf(frame) : undefined,
        });
        continue;
      }
      const out = decision === 'tombstone' ? encodeEventFrame({ ...frame, flags: frame.flags | EventFlags.TOMBSTONE, payload: new Uint8Array(0) }) : original;
      survivors.push({ entry: entry!, offset: size, length: out.length, tombstoned: decision === 'tombstone' });
      if (decision === 'tombstone') tombstoned.push({ globalSequence: frame.globalSequence, id: new Uint8Array(frame.id) });
      chunks.push(out);
      size += out.length;
    }
  }
  input.onProgress?.(done, input.total ?? done);
  let crc = 0;
  for (const c of chunks) crc = crc32(c, crc);
  return { chunks, size, survivors, removed, tombstoned, crc };
}
