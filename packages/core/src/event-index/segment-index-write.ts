// Builds and publishes a sealed segment's index file: the binding is read back from the segment itself
// (its header and tail), the file is replaced atomically (temp, fsync, rename, directory fsync).

import { crc32 } from 'node:zlib';
import type { Fs, FsFile } from '../fs/fs.js';
import { segmentFileName } from '../segment/format.js';
import { encodeIndexFile, TAIL_BYTES, type IndexedFrame, type SegmentBinding } from './segment-index-format.js';
import type { ExpectedBinding } from './segment-index-file.js';

/** `NNNNNN.bpi`: the index file of segment `NNNNNN.bps`. */
export function indexFileName(segmentId: number): string {
  return segmentFileName(segmentId).replace(/\.bps$/, '.bpi');
}

/** What an open checks an index file against: read from the segment (two positioned reads). */
export async function readBinding(segment: FsFile, segmentId: number, committedEnd: number): Promise<ExpectedBinding> {
  const segmentHeader = await segment.readAt(0, 32);
  const tailLength = Math.min(TAIL_BYTES, committedEnd);
  const tail = await segment.readAt(committedEnd - tailLength, tailLength);
  if (segmentHeader.length !== 32 || tail.length !== tailLength) throw new Error(`segment ${segmentId} is shorter than ${committedEnd} bytes`);
  return { segmentId, committedEnd, segmentHeader, tailCrc: crc32(tail) };
}

/**
 * Writes the index file of a sealed segment at `path`. `segmentCrc` is the CRC-32 of the segment's bytes
 * [0, committedEnd) (the writer keeps it running); `frames` are its committed events in global-sequence order.
 */
export async function writeIndexFile(fs: Fs, path: string, segment: FsFile, segmentId: number, committedEnd: number, segmentCrc: number, frames: readonly IndexedFrame[]): Promise<void> {
  const binding: SegmentBinding = { ...(await readBinding(segment, segmentId, committedEnd)), segmentCrc };
  await fs.writeFileAtomic(path, await encodeIndexFile(binding, frames));
}
