// Step 3 of a commit group, encode frames: one event frame per sequenced event, in log order, then the
// seal frame when the group was signed (FORMAT.md § Event frame body, § Seal frame body).
// Invariant: the frames are exactly the bytes the index entries of step 6 point at, in the same order.

import { MsgpackWriter } from '../encoding/msgpack-write.js';
import type { SignedGroup } from '../receipt/sign.js';
import { encodeSealFrame, eventFrameSize, writeEventFrame, type EventFrame } from '../segment/frame.js';
import { setHeaderFields, type SequencedEvent } from './append-intent.js';

export interface EncodedGroup {
  /** What to write, in order: every event frame laid end to end in one buffer, then the seal frame (if signed). */
  readonly chunks: readonly Uint8Array[];
  /** Each event frame's length in bytes, in log order (the index entries' offsets and lengths). */
  readonly lengths: readonly number[];
  /** Bytes of all chunks together. */
  readonly bytes: number;
}

const NOTHING: EncodedGroup = Object.freeze({ chunks: [], lengths: [], bytes: 0 });

/**
 * The group's frames in one buffer: one allocation per group instead of one (plus a DataView) per event, and one
 * gathered chunk for the write and the segment's running CRC. The bytes are exactly those of encodeEventFrame.
 */
export function encodeGroup(events: readonly SequencedEvent[], signed: SignedGroup | undefined): EncodedGroup {
  const n = events.length;
  if (n === 0) return NOTHING;
  const frames = new Array<SequencedFrame>(n);
  const lengths = new Array<number>(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const ev = events[i]!;
    const f = new SequencedFrame(ev);
    frames[i] = f;
    const size = eventFrameSize(f, utf8Of(ev.draft.entity), utf8Of(ev.draft.scope));
    lengths[i] = size;
    total += size;
  }
  const w = groupWriter(total);
  const start = w.pos;
  for (let i = 0; i < n; i++) {
    const ev = events[i]!;
    const end = w.pos + lengths[i]!;
    writeEventFrame(frames[i]!, utf8Of(ev.draft.entity), utf8Of(ev.draft.scope), w);
    // A size that disagrees with what was written would leave a gap or an overlap on disk: never write that.
    if (w.pos !== end) throw new Error(`event frame of ${w.pos - end + lengths[i]!} bytes, sized ${lengths[i]!}`);
  }
  const frames0 = start === 0 && w.buf.length === total ? w.buf : w.buf.subarray(start, start + total);
  if (signed === undefined) return { chunks: [frames0], lengths, bytes: total };
  const seal = encodeSealFrame({
    type: 1,
    firstSequence: events[0]!.globalSequence,
    lastSequence: events[n - 1]!.globalSequence,
    count: n,
    keyId: signed.keyId,
    root: signed.tree.root,
    headerDigest: signed.headerDigest,
    signature: signed.signature,
  });
  return { chunks: [frames0, seal], lengths, bytes: total + seal.length };
}

/** Groups up to this many bytes are cut from a shared slab; bigger ones get their own buffer (they would fill most of it). */
const SLAB_BYTES = 256 * 1024;
const SLAB_GROUP_MAX = SLAB_BYTES / 4;
/** The slab small groups are cut from, written from `pos` on; regions are never reused, so a group in flight is never overwritten. */
let slab: MsgpackWriter | undefined;

/**
 * A writer at the start of `total` free bytes: a region of the shared slab for a small group (one off-heap allocation
 * and one DataView per 256 KiB instead of per group: a 1-writer append is a group of one), else a buffer of its own.
 * The slab lives as long as any group cut from it is referenced (until its write has landed).
 */
function groupWriter(total: number): MsgpackWriter {
  if (total > SLAB_GROUP_MAX) return new MsgpackWriter(new Uint8Array(total), 0);
  // Not zeroed: a group's frames are written byte after byte over its whole region (encodeGroup checks every frame's
  // end), so no byte of the slab reaches the disk unwritten, and zeroing 256 KiB every few groups was measurable.
  if (slab === undefined || slab.pos + total > SLAB_BYTES) slab = new MsgpackWriter(new Uint8Array(Buffer.allocUnsafeSlow(SLAB_BYTES).buffer, 0, SLAB_BYTES), 0);
  return slab;
}

// A class (not a literal) so setHeaderFields can fill it; the interface gives it the frame's field types.
interface SequencedFrame extends EventFrame {}
/** An event's frame before encoding: its header fields from setHeaderFields, like its index entry's. */
class SequencedFrame {
  constructor(ev: SequencedEvent) {
    const self = this as { -readonly [K in keyof EventFrame]: EventFrame[K] };
    self.type = 0;
    self.id = ev.draft.id;
    setHeaderFields(self, ev);
    self.payload = ev.draft.payload;
  }
}

/**
 * UTF-8 of entity and scope strings, kept: appends repeat the same few, and encoding them was the
 * largest single cost of frame encoding. Bounded (emptied when full); the bytes are only ever read.
 */
const utf8Cache = new Map<string, Uint8Array<ArrayBuffer>>();
const UTF8_CACHE_MAX = 4096;
const utf8 = new TextEncoder();

function utf8Of(text: string): Uint8Array<ArrayBuffer> {
  let bytes = utf8Cache.get(text);
  if (bytes === undefined) {
    bytes = utf8.encode(text);
    if (utf8Cache.size >= UTF8_CACHE_MAX) utf8Cache.clear();
    utf8Cache.set(text, bytes);
  }
  return bytes;
}
