// Builds the records of a sealed segment's index file from the segment itself, without the in-memory
// index: a windowed walk that CRC-checks and decodes every frame. Damage is refused, never skipped, so a
// rebuild after a hit that did not check out reports a damaged segment instead of hiding it.

import { BatpakError } from '../errors.js';
import type { Fs } from '../fs/fs.js';
import { decodeFrameBody, FrameDecodeError } from '../segment/frame.js';
import { walkWindowFrames } from '../segment/frames.js';
import { ReadWindow } from '../segment/window.js';
import type { IndexedFrame } from './segment-index-format.js';

const SEGMENT_HEADER_BYTES = 32;

/**
 * Every event frame of the sealed segment at `path`, in file order (ascending global sequence), read
 * over `[32, committedEnd)`. Throws ERR_CORRUPT_SEGMENT at the first frame that is damaged, fails its CRC
 * or does not decode. Seal frames are skipped (they are not events).
 */
export async function indexedFramesOf(fs: Pick<Fs, 'open'>, path: string, committedEnd: number): Promise<IndexedFrame[]> {
  const w = await ReadWindow.open(fs, path, committedEnd);
  try {
    if (w.end !== committedEnd) throw BatpakError.corruptSegment(path, w.end, `the segment has ${w.end} bytes, ${committedEnd} were committed`);
    const out: IndexedFrame[] = [];
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
      if (frame.type !== 0) continue;
      if (frame.globalSequence <= lastSequence) throw BatpakError.corruptSegment(path, step.offset, `global sequence ${frame.globalSequence} after ${lastSequence}`);
      lastSequence = frame.globalSequence;
      out.push({
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
    return out;
  } finally {
    await w.close();
  }
}
