// What the sealed tier takes from an index file without a hit to check, checked once when the file is put
// to use: its first and last events, that no event lies outside them, density, and the key generations.
// Invariant: a file that passes serves lookups whose every hit is still checked against its frame.

import { toHex } from '../encoding/hex.js';
import { decodeFrameBody } from '../segment/frame.js';
import { frameAt } from '../segment/frames.js';
import type { SegmentSet } from '../segment/set.js';
import type { IndexEntry } from './entry.js';
import { entryFromRecovered } from './from-frame.js';
import { checkHits } from './index-hit.js';
import type { SegmentIndexFile } from './segment-index-file.js';
import { IndexFileDamage } from './segment-index-format.js';

export interface SealedFileCheck {
  /** Why the file must not be used, or undefined. */
  readonly untrusted: string | undefined;
  /** The segment's last event, from its frame (undefined when untrusted or empty). */
  readonly lastEntry: IndexEntry | undefined;
  /** The highest key generation per scope (hex), from the file's lists. */
  readonly generations: Map<string, { readonly scope: Uint8Array; readonly generation: number }>;
}

/**
 * Checks `file` against segment `segmentId`: its first and last records are real frames with the sequences
 * its header names, only seal frames lie before the first or after the last (the file leaves out no event
 * at either end: a scan picks segments by these bounds), sequences are dense unless compaction wrote the
 * segment (a dropped event then shows), and its lists decode. `walk` reads the segment's events (an empty file).
 */
export async function checkSealedFile(segments: SegmentSet, segmentId: number, file: SegmentIndexFile, compacted: boolean, walk: (id: number) => Promise<IndexEntry[]>): Promise<SealedFileCheck> {
  const h = file.header;
  const s = file.summary;
  const generations = new Map<string, { readonly scope: Uint8Array; readonly generation: number }>();
  const untrusted = (why: string): SealedFileCheck => ({ untrusted: why, lastEntry: undefined, generations });
  try {
    if (h.eventCount === 0) return (await walk(segmentId)).length > 0 ? untrusted('the file lists no event; the segment has some') : { untrusted: undefined, lastEntry: undefined, generations };
    const first = await file.bySequence(h.firstSequence);
    const last = await file.bySequence(h.lastSequence);
    if (first === undefined || last === undefined) return untrusted('its first or last sequence is not in its frame column');
    const ends = h.eventCount === 1 ? [last] : [first, last];
    const checked = await checkHits(segments, segmentId, ends, ends.map(() => ({})));
    const bad = checked.map((c) => c.untrusted ?? (c.damaged === undefined ? undefined : `the frame it names fails its checks (${c.damaged})`)).find((why) => why !== undefined);
    if (bad !== undefined) return untrusted(bad);
    const outside = (await eventsBetween(segments, segmentId, 32, first.offset)) ?? (await eventsBetween(segments, segmentId, last.offset + last.length, segments.size(segmentId)));
    if (outside !== undefined) return untrusted(outside);
    if (!compacted && (h.lastSequence - h.firstSequence + 1 !== h.eventCount || s.jumpCount !== 0)) return untrusted('its sequences are not dense in a segment compaction did not write');
    if (s.scopeCount > 0) for (const g of (await file.lists()).scopes) generations.set(toHex(g.scope), g);
    const lastEntry = entryFromRecovered({ frame: checked[checked.length - 1]!.frame!, segmentId, offset: last.offset, length: last.length });
    return { untrusted: undefined, lastEntry, generations };
  } catch (err) {
    if (err instanceof IndexFileDamage) return untrusted(err.message);
    throw err;
  }
}

/** Why `[from, to)` of a segment is not only seal frames, or undefined. */
async function eventsBetween(segments: SegmentSet, segmentId: number, from: number, to: number): Promise<string | undefined> {
  if (to <= from) return undefined;
  const [bytes] = await segments.readFrameRuns(segmentId, [{ offset: from, length: to - from }]);
  for (let pos = 0; pos < bytes!.length; ) {
    const step = frameAt(bytes!, pos, 'none');
    if (step.kind === 'damage' || step.crcOk !== true) return `the bytes at offset ${from + pos}, outside its events, are not a sound frame`;
    let type: number;
    try {
      type = decodeFrameBody(step.body!).type;
    } catch {
      return `the frame at offset ${from + pos}, outside its events, does not decode`;
    }
    if (type === 0) return `it leaves out the event at offset ${from + pos}`;
    pos += step.length;
  }
  return undefined;
}
