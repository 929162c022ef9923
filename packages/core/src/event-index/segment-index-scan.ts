// Builds the records of a sealed segment's index file from the segment itself, without the in-memory
// index: a windowed walk that CRC-checks and decodes every frame and keeps the events recovery commits
// (whole batches, sealed groups: the same rules, segment/recovery.ts). Damage is refused, never skipped,
// so a rebuild after a hit that did not check out reports a damaged segment instead of hiding it.

import { BatpakError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { SegmentFlags } from '../segment/format.js';
import { decodeFrameBody, FrameDecodeError, type EventFrame, type Frame } from '../segment/frame.js';
import { walkWindowFrames } from '../segment/frames.js';
import { committedEventOffsets } from '../segment/recovery.js';
import type { ScannedFrame } from '../segment/scan.js';
import { ReadWindow } from '../segment/window.js';
import type { IndexedFrame } from './segment-index-format.js';

const SEGMENT_HEADER_BYTES = 32;
const NONE = new Uint8Array(0);

/**
 * What the commit rules read of a frame, copied: a decoded frame views the read window, and keeping it
 * would keep every window of the segment in memory until the walk ends.
 */
function ruleView(f: Frame): Frame {
  if (f.type === 1) return { type: 1, firstSequence: f.firstSequence, lastSequence: f.lastSequence, count: f.count, keyId: NONE, root: NONE, signature: NONE };
  const e: EventFrame = { type: 0, id: NONE, globalSequence: f.globalSequence, entitySequence: 0, kind: 0, entity: '', scope: '', committedAt: 0, prevHash: NONE, contentHash: NONE, payloadVersion: 0, flags: f.flags, batch: f.batch, payload: NONE };
  return e;
}

/**
 * Every committed event of the sealed segment at `path`, in file order (ascending global sequence), read
 * over `[32, committedEnd)`: event frames of a batch or signed group that never completed are left out,
 * as recovery leaves them out of the index. Throws ERR_CORRUPT_SEGMENT at the first frame that is
 * damaged, fails its CRC or does not decode.
 */
export async function indexedFramesOf(fs: Pick<Fs, 'open'>, path: string, committedEnd: number): Promise<IndexedFrame[]> {
  const w = await ReadWindow.open(fs, path, committedEnd);
  try {
    if (w.end !== committedEnd) throw BatpakError.corruptSegment(path, w.end, `the segment has ${w.end} bytes, ${committedEnd} were committed`);
    if (!(await w.ensure(0, SEGMENT_HEADER_BYTES))) throw BatpakError.corruptSegment(path, 0, 'the segment has no header');
    const header = w.view(0, SEGMENT_HEADER_BYTES);
    const compacted = (((header[6]! << 8) | header[7]!) & SegmentFlags.COMPACTED) !== 0;
    const events: IndexedFrame[] = [];
    const walked: ScannedFrame[] = [];
    let lastSequence = 0;
    for await (const step of walkWindowFrames(w, { from: SEGMENT_HEADER_BYTES, resync: 'none' })) {
      if (step.kind === 'damage') throw BatpakError.corruptSegment(path, step.offset, `damaged frame (${step.damage})`);
      if (step.crcOk !== true) throw BatpakError.corruptSegment(path, step.offset, 'frame CRC mismatch');
      let frame;
      try {
        frame = decodeFrameBody(step.body!);
      } catch (err) {
        if (err instanceof FrameDecodeError) throw BatpakError.corruptSegment(path, step.offset, `frame body does not decode: ${err.message}`);
        throw err;
      }
      walked.push({ offset: step.offset, length: step.length, frame: ruleView(frame) });
      if (frame.type !== 0) continue;
      if (frame.globalSequence <= lastSequence) throw BatpakError.corruptSegment(path, step.offset, `global sequence ${frame.globalSequence} after ${lastSequence}`);
      lastSequence = frame.globalSequence;
      events.push({
        idBytes: frame.id.slice(),
        globalSequence: frame.globalSequence,
        entitySequence: frame.entitySequence,
        entity: frame.entity,
        offset: step.offset,
        length: step.length,
        contentHash: frame.contentHash.slice(),
        committedAt: frame.committedAt,
        flags: frame.flags,
        encryption: frame.encryption === undefined ? undefined : { scope: frame.encryption.scope.slice(), generation: frame.encryption.generation },
      });
    }
    const committed = committedEventOffsets(walked, compacted);
    return committed.size === events.length ? events : events.filter((e) => committed.has(e.offset));
  } finally {
    await w.close();
  }
}
