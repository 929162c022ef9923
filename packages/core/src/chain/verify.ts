// verifyChain: re-reads every committed frame from disk, recomputes blake3 over the stored payload and
// checks each event's prevHash against its entity's immediately preceding event (INV-CHAIN-RECOMPUTE);
// a tombstone flag compaction's record does not explain is damage (INV-TOMBSTONE-RECORDED).
// It streams: disk frames and the committed events (an array, or index pages read as the walk reaches them) are both
// in global-sequence order, walked in step. A frame whose body is exactly its committed entry's canonical encoding —
// signed, encrypted or with extensions too — is checked in place, its CRC and payload hash computed ahead (on worker
// threads when asked); every other frame is decoded and judged as before (`reference`).

import { crc32 } from 'node:zlib';
import { blake3, blake3Into } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import type { IndexEntry } from '../event-index/entry.js';
import { frameMismatch } from '../event-index/frame-match.js';
import type { SealChecker } from '../receipt/seal-check.js';
import { CommittedBodyMatch } from '../segment/body-match.js';
import { ChunkReadAhead } from '../segment/chunks.js';
import { DigestPool, inThreadDigester, type ChunkDigest, type FrameDigester } from '../segment/digest-pool.js';
import { FRAME_HEADER_BYTES, frameHeaderDamage, readFrameHeader, SEGMENT_HEADER_BYTES } from '../segment/format.js';
import { decodeFrameBody, EventFlags, type EventFrame } from '../segment/frame.js';
import { MAGIC_BYTES, walkWindowFrames } from '../segment/frames.js';
import { ReadWindow } from '../segment/window.js';
import type { ChainVerificationReport, CorruptFrameReport, DirectoryDamageReport } from '../types.js';
import { CommittedCursor, type CommittedEvents } from './committed-cursor.js';
import { chainReport, HashChainHeads } from './links.js';

export type { CommittedEvents } from './committed-cursor.js';

// Where the zero hash always lived: callers importing it from here keep working.
export { ZERO_HASH } from './links.js';

export interface SegmentSnapshot {
  readonly id: number;
  readonly path: string;
  /** Committed length at the time of the snapshot; later appends are not part of the check. */
  readonly committedEnd: number;
}

export interface VerifyChainInput {
  /** Only `open` is used: the store passes its held segment handles, so a reader sees the files it indexed. */
  readonly fs: Pick<Fs, 'open'>;
  readonly segments: readonly SegmentSnapshot[];
  /**
   * The committed events at snapshot time, ascending global sequence: an array, or pages read as the walk
   * reaches them (a store's index), so a verification never holds every entry at once.
   */
  readonly committed: readonly IndexEntry[] | CommittedEvents;
  /** Hex content hashes of events compaction removed (from its own trusted record). */
  readonly removedHashes: ReadonlySet<string>;
  /** Checks the seals (and unsigned events in a store that signs) as the log streams by. */
  readonly seals?: SealChecker | undefined;
  /** Sees each committed event's frame as it streams by (the head of an attestation is folded here). */
  readonly observe?: ((frame: EventFrame) => void) | undefined;
  /** What the directory showed at open (missing segments, a contradicting checkpoint): reported as is. */
  readonly directoryDamage?: readonly DirectoryDamageReport[] | undefined;
  /** Whether compaction's trusted record tombstoned this event (hex id); default: nothing was. */
  readonly tombstone?: ((eventId: string) => 'recorded' | 'unknown' | 'unexplained') | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
  /** Worker threads computing CRCs and payload hashes while this thread checks links in order; 0 (default): none. */
  readonly workers?: number | undefined;
  /**
   * Default true: frames that are exactly their committed entry's canonical encoding are checked in place.
   * False decodes every frame (the reference the fast path is tested against; the report is the same).
   */
  readonly fastPath?: boolean | undefined;
  /** Bytes per read-ahead chunk (default 4 MiB); tests use small ones to put frames across chunk edges. */
  readonly chunkBytes?: number | undefined;
  /** Counted up per committed event checked, by the path that checked it (tests read which path ran). */
  readonly paths?: { inPlace: number; decoded: number } | undefined;
}

const PROGRESS_EVERY = 4096;

/**
 * Bytes per read-ahead chunk. Why this small: a chunk is read (kernel copy), CRC'd and hashed on a worker, then
 * matched here; at 512 KiB it is still in cache for each step (L2 here is 2 MiB a core). Measured on 1M events
 * (load ~10): 4 MiB chunks took 5.6-6.3 CPU-s at 1 KiB and 3.0 at 256 B, 512 KiB 4.1 and 2.4; 16 MiB was worse still.
 */
export const READ_AHEAD_CHUNK_BYTES = 512 * 1024;

/**
 * Chunks kept in flight per worker, so a worker that finishes one has the next already read (~8 MiB ahead with two
 * workers). Measured against 2 and 4 per worker (256 B: 77-92 against 103-111 MB/s, 1 KiB: 115-176 against 224-246,
 * load 8-11); 16 per worker was worse again (106-147 at 1 KiB): what is ahead falls out of cache.
 */
const READ_AHEAD_PER_WORKER = 8;

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new BatpakError('ERR_ABORTED', 'verifyChain was aborted', { cause: signal.reason });
}

const u32 = (b: Uint8Array, p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;

/**
 * The frame an entry describes, when its body was matched as the entry's canonical encoding (every header field
 * equal). The payload is a view into a reused read buffer: the seal check and a head's fold use it before they return.
 */
function frameOfEntry(e: IndexEntry, payload: Uint8Array): EventFrame {
  return {
    type: 0,
    id: e.idBytes,
    globalSequence: e.globalSequence,
    entitySequence: e.entitySequence,
    kind: e.kind,
    entity: e.entity,
    scope: e.scope,
    committedAt: e.committedAt,
    prevHash: e.prevHash,
    contentHash: e.contentHash,
    payloadVersion: e.payloadVersion,
    flags: e.flags,
    batch: e.batch,
    encryption: e.encryption,
    extensions: e.extensions,
    payload,
  };
}

/** The findings of one verification, as its frames stream by in log order. */
class ChainWalk {
  readonly contentHashMismatches: string[] = [];
  readonly corruptFrames: CorruptFrameReport[] = [];
  readonly missingEvents: string[] = [];
  readonly danglingLinks: string[] = [];
  readonly gaps: string[] = [];
  /** Each entity's chain head so far (32 bytes per entity). */
  readonly heads = new HashChainHeads();
  readonly #match = new CommittedBodyMatch();
  readonly #hash = new Uint8Array(32);
  /** The committed events not yet met on disk, in order. */
  readonly committed: CommittedCursor;
  checked = 0;
  sinceProgress = 0;
  headersUnverified = 0;

  constructor(readonly input: VerifyChainInput) {
    this.committed = new CommittedCursor(input.committed);
  }

  /**
   * After each frame: the next page of committed events once the current one is used up, and every
   * PROGRESS_EVERY events progress, cancellation and a turn for the event loop. Only those wait: the rest
   * of a chunk's frames are walked without an await each.
   */
  async between(): Promise<void> {
    if (this.committed.needsFill) await this.committed.fill();
    if (this.sinceProgress < PROGRESS_EVERY) return;
    this.sinceProgress = 0;
    this.input.onProgress?.(this.checked, this.committed.total);
    throwIfAborted(this.input.signal);
    // Yield so a long verification does not starve the event loop.
    await new Promise<void>((r) => setImmediate(r));
  }

  /**
   * Checks the frame whose body is `bytes[from, to)` in place, with its CRC verdict and the digest computed ahead
   * (`payloadAt`, -1: none), when the body is its committed entry's canonical encoding. False: not shown here, the
   * caller decodes it (`reference`) from a copy — the chunk's buffer is reused, and a decoded frame's fields are
   * views that a seal or head check may keep.
   */
  inPlace(bytes: Uint8Array, from: number, to: number, crcOk: boolean, payloadAt: number, digests: Uint8Array, digestAt: number): boolean {
    const { seals, observe } = this.input;
    const expected = this.committed.peek();
    const m = this.#match;
    if (!crcOk || expected === undefined || !m.matches(bytes, from, to, expected)) return false;
    const flags = expected.flags;
    // The body is exactly `expected`: same sequence and id (no event missing before it), every header field equal.
    this.committed.advance();
    this.checked++;
    const eventId = expected.eventId;
    if ((flags & EventFlags.TOMBSTONE) === 0) {
      let hash = digests;
      let at = digestAt;
      if (payloadAt !== m.payloadAt) {
        blake3Into(bytes, m.payloadAt, to, this.#hash, 0);
        hash = this.#hash;
        at = 0;
      }
      const c = m.contentAt;
      for (let i = 0; i < 32; i++) {
        if (hash[at + i] !== bytes[c + i]) {
          this.contentHashMismatches.push(eventId);
          break;
        }
      }
    } else this.#tombstone(eventId);
    if (!this.heads.follow(expected.entity, bytes, m.prevAt, bytes, m.contentAt)) this.#brokenLink(bytes.subarray(m.prevAt, m.prevAt + 32), eventId);
    // A sealed event's cover and header leaf, and a head's fold, need the frame's fields: the entry's, equal to them.
    const sealed = (flags & EventFlags.SEALED) !== 0 && seals !== undefined;
    if (sealed || observe !== undefined) {
      const frame = frameOfEntry(expected, bytes.subarray(m.payloadAt, to));
      if (sealed) seals.event(frame, eventId);
      else seals?.unsealedEvent(eventId);
      observe?.(frame);
    } else seals?.unsealedEvent(eventId);
    this.sinceProgress++;
    if (this.input.paths !== undefined) this.input.paths.inPlace++;
    return true;
  }

  /** One frame decoded whole and judged field by field: the definition the in-place path must agree with. */
  async reference(file: string, pos: number, body: Uint8Array, crcOk: boolean): Promise<void> {
    const { seals } = this.input;
    const committed = this.committed;
    let frame;
    try {
      frame = decodeFrameBody(body);
    } catch (err) {
      this.corruptFrames.push({ file, offset: pos, reason: crcOk ? `undecodable frame: ${(err as Error).message}` : 'frame CRC mismatch' });
      return;
    }
    if (frame.type === 1) {
      if (!crcOk) this.corruptFrames.push({ file, offset: pos, reason: 'seal frame CRC mismatch' });
      else seals?.seal(frame);
      return;
    }
    const g = frame.globalSequence;
    // Committed events the disk skipped past are missing.
    for (let e = committed.peek(); e !== undefined && e.globalSequence < g; e = committed.peek()) {
      this.missingEvents.push(e.eventId);
      committed.advance();
      if (committed.needsFill) await committed.fill();
    }
    const expected = committed.peek();
    if (expected === undefined || expected.globalSequence !== g || !bytesEqual(expected.idBytes, frame.id)) {
      // Not a committed event: a frame an interrupted batch or unsealed group left behind, or a
      // frame that now holds another event than the one committed at this sequence.
      if (!crcOk) this.corruptFrames.push({ file, offset: pos, reason: 'frame CRC mismatch' });
      else if (expected !== undefined && expected.globalSequence === g) {
        this.corruptFrames.push({ file, offset: pos, reason: `frame holds event ${toHex(frame.id)}, not the committed ${expected.eventId}` });
      }
      return;
    }
    committed.advance();
    this.checked++;
    const eventId = expected.eventId;
    if (!crcOk) this.corruptFrames.push({ file, offset: pos, reason: 'frame CRC mismatch', eventId });
    // The index is derived: a field it holds that the frame does not is damage, never believed.
    const field = frameMismatch(expected, frame);
    if (field !== undefined) this.corruptFrames.push({ file, offset: pos, reason: `the index's ${field} differs from the frame`, eventId });
    if ((frame.flags & EventFlags.TOMBSTONE) === 0) {
      if (!bytesEqual(blake3(frame.payload), frame.contentHash)) this.contentHashMismatches.push(eventId);
    } else this.#tombstone(eventId);
    // The link: a native chain is the entity's events; a broken link to an event compaction removed is a gap.
    if (!this.heads.follow(frame.entity, frame.prevHash, 0, frame.contentHash, 0)) this.#brokenLink(frame.prevHash, eventId);
    seals?.event(frame, eventId);
    this.input.observe?.(frame);
    this.sinceProgress++;
    if (this.input.paths !== undefined) this.input.paths.decoded++;
  }

  /** The flag excuses the payload from its hash only when compaction's own record says so. */
  #tombstone(eventId: string): void {
    const t = this.input.tombstone?.(eventId) ?? 'unexplained';
    if (t === 'unexplained') this.contentHashMismatches.push(eventId);
    else if (t === 'unknown') this.headersUnverified++;
  }

  #brokenLink(prevHash: Uint8Array, eventId: string): void {
    if (this.input.removedHashes.has(toHex(prevHash))) this.gaps.push(eventId);
    else this.danglingLinks.push(eventId);
  }

  /** One segment, every frame decoded (the reference walk). */
  async decodeAll(file: string, w: ReadWindow): Promise<void> {
    for await (const step of walkWindowFrames(w, { from: SEGMENT_HEADER_BYTES, resync: 'magic' })) {
      // The walk resynchronises on the next frame magic.
      if (step.kind === 'damage') this.corruptFrames.push({ file, offset: step.offset, reason: 'damaged frame header' });
      else await this.reference(file, step.offset, step.body!, step.crcOk === true);
      await this.between();
    }
  }

  /** One segment in chunks read and digested ahead; damage is walked one step at a time as `decodeAll` walks it. */
  async inChunks(file: string, w: ReadWindow, ahead: ChunkReadAhead): Promise<void> {
    const end = w.end;
    let pos = SEGMENT_HEADER_BYTES;
    while (pos < end) {
      const chunk = await ahead.take(pos);
      if (chunk !== undefined) {
        const d: ChunkDigest = await chunk.digest;
        const bytes = d.bytes;
        let rel = 0;
        for (let i = 0; i < chunk.frames; i++) {
          const from = rel + FRAME_HEADER_BYTES;
          const to = from + u32(bytes, rel + 4);
          const crcOk = d.crcOk[i] === 1;
          if (!this.inPlace(bytes, from, to, crcOk, d.payloadAt[i]!, d.digests, i * 32)) await this.reference(file, chunk.at + rel, bytes.slice(from, to), crcOk);
          rel = to;
          if (this.committed.needsFill || this.sinceProgress >= PROGRESS_EVERY) await this.between();
        }
        ahead.release(bytes);
        pos = chunk.end;
        continue;
      }
      const h = (await w.ensure(pos, FRAME_HEADER_BYTES)) ? readFrameHeader(w.bytes, pos - w.at) : undefined;
      if (frameHeaderDamage(h, pos, end) !== undefined) {
        this.corruptFrames.push({ file, offset: pos, reason: 'damaged frame header' });
        const next = await w.indexOf(MAGIC_BYTES, pos + 1);
        if (next === -1) return;
        pos = next;
        continue;
      }
      const length = FRAME_HEADER_BYTES + h!.length;
      await w.ensure(pos, length);
      const body = w.view(pos + FRAME_HEADER_BYTES, h!.length);
      await this.reference(file, pos, body, crc32(body) === h!.crc);
      await this.between();
      pos += length;
    }
  }
}

export async function verifyChain(input: VerifyChainInput): Promise<ChainVerificationReport> {
  const { signal, onProgress } = input;
  const walk = new ChainWalk(input);
  const fast = input.fastPath !== false;
  const workers = input.workers ?? 0;
  const digester: FrameDigester = fast && workers > 0 ? new DigestPool(workers) : inThreadDigester;
  const rest = walk.committed;
  try {
    await rest.fill();
    for (const seg of input.segments) {
      throwIfAborted(signal);
      const w = await ReadWindow.open(input.fs, seg.path, seg.committedEnd);
      try {
        if (fast) await walk.inChunks(seg.path, w, new ChunkReadAhead(w, digester, Math.max(1, READ_AHEAD_PER_WORKER * workers), input.chunkBytes ?? READ_AHEAD_CHUNK_BYTES));
        else await walk.decodeAll(seg.path, w);
      } finally {
        await w.close();
      }
    }
    // Committed events after the last frame on disk are missing.
    for (let e = rest.peek(); e !== undefined; e = rest.peek()) {
      walk.missingEvents.push(e.eventId);
      rest.advance();
      await rest.fill();
    }
  } finally {
    rest.close();
    await digester.close();
  }

  const seals = input.seals?.finish();
  const signatureFailures = seals?.failures ?? [];
  onProgress?.(walk.checked, rest.total);
  return chainReport({
    eventsChecked: walk.checked,
    contentHashMismatches: walk.contentHashMismatches,
    danglingLinks: walk.danglingLinks,
    gaps: walk.gaps,
    corruptFrames: walk.corruptFrames,
    missingEvents: walk.missingEvents,
    signatureFailures,
    signaturesChecked: seals?.signaturesChecked ?? 0,
    keyIds: seals?.keyIds ?? [],
    headersUnverified: walk.headersUnverified + (seals?.headersUnverified ?? 0),
    directoryDamage: [...(input.directoryDamage ?? [])],
  });
}
