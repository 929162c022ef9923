// Decides at open whether the cold-start checkpoint still describes the segment files, and what to scan
// after it. Any doubt means undefined: the full scan is always the fallback.

import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { bytesEqual } from '../encoding/hex.js';
import { CHECKPOINT_FILE, decodeCheckpoint, type Checkpoint } from '../index/checkpoint.js';
import { SEGMENT_HEADER_BYTES } from '../segment/format.js';
import { readPrefix } from '../segment/read.js';
import { ReadWindow, WINDOW_BYTES } from '../segment/window.js';
import type { ResolvedOptions } from './options.js';

export interface UsableCheckpoint {
  readonly checkpoint: Checkpoint;
  /** Segments the checkpoint covers completely (not scanned). */
  readonly whole: { readonly id: number; readonly path: string; readonly committedEnd: number; readonly crc: number }[];
  /** What recovery scans: the checkpoint's last segment from its watermark, then newer segments. */
  readonly tail: { readonly id: number; readonly path: string; readonly from?: number }[];
  readonly start: { readonly lastSeen: number; readonly lastInCompacted: boolean };
}

/**
 * Loads the checkpoint and checks it still describes the segment files: the same segments, in order,
 * with the same headers (a compaction output has another), untouched lengths for all but the last,
 * and no compaction since. Anything else — or any damage — means a full scan.
 */
export async function usableCheckpoint(
  opts: ResolvedOptions,
  present: readonly { readonly id: number; readonly path: string }[],
  compactions: number,
): Promise<UsableCheckpoint | undefined> {
  if (opts.checkpoint === 'off') return undefined;
  const { fs, dir } = opts;
  const path = join(dir, CHECKPOINT_FILE);
  const stale = (why: string): undefined => {
    opts.onWarning(`cold-start checkpoint not used (${why}): scanning every segment`);
    return undefined;
  };
  let bytes: Uint8Array;
  try {
    if ((await fs.stat(path)) === null) return undefined;
    bytes = await readPrefix(fs, path);
  } catch (err) {
    return stale(`unreadable: ${(err as Error).message}`);
  }
  const c = decodeCheckpoint(bytes);
  if (c === undefined) return stale('damaged or another version');
  if (c.compactions !== compactions) return stale('a compaction ran since');
  if (c.segments.length === 0 || c.segments.length > present.length) return stale('segments changed');
  const whole: UsableCheckpoint['whole'] = [];
  for (let i = 0; i < c.segments.length; i++) {
    const s = c.segments[i]!;
    const file = present[i]!;
    if (file.id !== s.id) return stale('segments changed');
    // Every byte the checkpoint indexes must be unchanged (a native CRC pass, far cheaper than decoding
    // frames): then opening from it detects exactly what a full scan would.
    try {
      const w = await ReadWindow.open(fs, file.path);
      try {
        const last = i === c.segments.length - 1;
        if (last ? w.end < s.committedEnd : w.end !== s.committedEnd) return stale(`segment ${s.id} changed size`);
        // Window by window: a whole 64 MiB segment in one buffer would cost a full GC per segment.
        let crc = 0;
        for (let p = 0; p < s.committedEnd; p += w.bytes.length) {
          await w.ensure(p, Math.min(WINDOW_BYTES, s.committedEnd - p));
          const chunk = w.bytes.subarray(0, Math.min(w.bytes.length, s.committedEnd - p));
          if (p === 0 && !bytesEqual(chunk.subarray(0, SEGMENT_HEADER_BYTES), s.header)) return stale(`segment ${s.id} changed`);
          crc = crc32(chunk, crc);
        }
        if (crc !== s.crc) return stale(`segment ${s.id} changed`);
      } finally {
        await w.close();
      }
    } catch (err) {
      return stale(`segment ${s.id} unreadable: ${(err as Error).message}`);
    }
    if (i < c.segments.length - 1) whole.push({ id: s.id, path: file.path, committedEnd: s.committedEnd, crc: s.crc });
  }
  const last = c.segments[c.segments.length - 1]!;
  const tail = [{ id: last.id, path: present[c.segments.length - 1]!.path, from: last.committedEnd }, ...present.slice(c.segments.length)];
  return { checkpoint: c, whole, tail, start: { lastSeen: c.lastSeen, lastInCompacted: c.lastInCompacted } };
}

