// Builds and publishes a sealed segment's index file: the binding is read back from the segment itself
// (its header and tail), the file is replaced atomically (temp, rename) but never fsynced: it is derived
// data, every part of it is checked before use, and a crash that tears or loses it only costs a rebuild.

import { crc32 } from 'node:zlib';
import { dirname } from 'node:path';
import { atomicTempPath, writeFileAtomicSteps } from '../fs/atomic-write.js';
import type { Fs, FsFile } from '../fs/fs.js';
import { segmentFileName } from '../segment/format.js';
import { encodeIndexFile } from './segment-index-encode.js';
import { TAIL_BYTES, type IndexedFrame, type SegmentBinding } from './segment-index-format.js';
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
  await publishUnsynced(fs, path, await encodeIndexFile(binding, frames));
}

let tempCounter = 0;

/**
 * Replaces `path` by `data` through a temp file of writeFileAtomic's name grammar (so a killed writer's temp
 * is removed by the next open, INV-TEMP-CLEANUP) and a rename, with no fsync of the file or the directory.
 * Measured: the two fsyncs of every seal made durable appends ~13 % slower (they queue with the commits'
 * fsyncs on the same disk). After a crash the file may be missing, empty, torn or the one it replaced; the
 * checks an index file passes before and while it is used (FORMAT.md) refuse each, and it is rebuilt.
 */
async function publishUnsynced(fs: Fs, path: string, data: Uint8Array): Promise<void> {
  await writeFileAtomicSteps(fs, path, atomicTempPath(path, `${process.pid}-i${++tempCounter}`), dirname(path), data, false);
}
