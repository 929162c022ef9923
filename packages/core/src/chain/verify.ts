// verifyChain: re-reads every committed frame from disk, recomputes blake3 over the stored payload and
// checks each event's prevHash against its entity's immediately preceding event (INV-CHAIN-RECOMPUTE);
// a tombstone flag compaction's record does not explain is damage (INV-TOMBSTONE-RECORDED).
// It streams: disk frames and the committed events (an array, or index pages read as the walk reaches them) are both
// in global-sequence order, walked in step. A frame whose body is exactly its committed entry's canonical encoding —
// signed, encrypted or with extensions too — is checked in place, its CRC and payload hash computed ahead (on worker
// threads when asked); every other frame is decoded and judged as before (`reference`). In a segment whose frames are
// the authority (CommittedEvents.fromFrames) the committed events are found as the walk reads them, under recovery's
// commit rules, as a scan of that segment would list them (`ownInPlace`, `ownReference`).

import { crc32 } from 'node:zlib';
import { blake3, blake3Into } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { bytesEqual, toHex } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import type { IndexEntry } from '../event-index/entry.js';
import { frameMismatch } from '../event-index/frame-match.js';
import { isCompactedHeader } from '../event-index/segment-walk.js';
import type { SealChecker } from '../receipt/seal-check.js';
import { CommittedBodyMatch } from '../segment/body-match.js';
import { ChunkReadAhead } from '../segment/chunks.js';
import { CommitRules } from '../segment/commit-rules.js';
import { DigestPool, inThreadDigester, type ChunkDigest, type FrameDigester } from '../segment/digest-pool.js';
import { FRAME_HEADER_BYTES, frameHeaderDamage, readFrameHeader, SEGMENT_HEADER_BYTES } from '../segment/format.js';
import { decodeFrameBody, EventFlags, type EventFrame, type Frame } from '../segment/frame.js';
import { MAGIC_BYTES, walkWindowFrames } from '../segment/frames.js';
import { PlainEventBody } from '../segment/plain-body.js';
import type { ScannedFrame } from '../segment/scan.js';
import { ReadWindow } from '../segment/window.js';
import type { ChainVerificationReport, CorruptFrameReport, DirectoryDamageReport } from '../types.js';
import { CommittedCursor, type CommittedEvents } from './committed-cursor.js';
import { EntityHeads } from './entity-heads.js';
import { chainReport } from './links.js';
import { PlacedRun } from './placed-run.js';

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
  /** Chunk bytes kept for frames waiting in an incomplete batch before they keep copies instead (default 32 MiB; tests use tiny ones). */
  readonly waitingBytes?: number | undefined;
  /** Counted up per committed event checked, by the path that checked it (tests read which path ran). */
  readonly paths?: { inPlace: number; decoded: number } | undefined;
  /**
   * Sees every committed event as the walk reaches it, in log order, checked or missing: its id (`id[idAt, +16)`, a
   * view valid only during the call) and where it is (the entry's segment and offset, or the frame's in a segment whose
   * frames are the authority). The store's duplicate-id check.
   */
  readonly committedEvent?: ((id: Uint8Array, idAt: number, segmentId: number, offset: number) => void) | undefined;
}

const PROGRESS_EVERY = 4096;

/**
 * Chunk bytes kept for frames waiting in an incomplete batch before they are copied out (PlacedFrame.detach). The
 * bench's 4096-event batches of 1 KiB fit (no copy); a batch of large payloads is never held whole.
 */
const WAITING_BYTES = 32 * 1024 * 1024;

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

/** Where a plain event's fields lie in its frame's bytes (PlainEventBody, or a PlacedFrame waiting in the commit rules). */
interface PlainFields {
  readonly idAt: number;
  readonly entityAt: number;
  readonly entityLength: number;
  readonly prevAt: number;
  readonly contentAt: number;
  readonly payloadAt: number;
  readonly flags: number;
}

/**
 * A plain event frame read in place that waits in the commit rules (a batch not yet complete): its fields where they
 * lie in `bytes`, the chunk it was read in (kept, not reused, until nothing waits in it), and its digest computed ahead.
 * It is its own rule view too (`frame`, `batch`): one object per waiting frame, not three.
 */
class PlacedFrame implements ScannedFrame, PlainFields {
  readonly type = 0;

  constructor(
    readonly offset: number,
    readonly length: number,
    readonly globalSequence: number,
    /** The batch ref's fields (`count` 0: none), read by the commit rules through `batch`. */
    readonly first: number,
    readonly index: number,
    readonly count: number,
    public bytes: Uint8Array,
    public to: number,
    public idAt: number,
    public entityAt: number,
    readonly entityLength: number,
    public prevAt: number,
    public contentAt: number,
    public payloadAt: number,
    readonly flags: number,
    public digests: Uint8Array,
    public digestAt: number,
    /** Where the digest's payload started (-1: none computed ahead). */
    public digestPayloadAt: number,
  ) {}

  /**
   * Stops holding the chunk: keeps a copy of the body up to its payload (the fields the check reads) and the
   * payload's digest (computed here if it was not ahead), so a long batch never holds all its bytes.
   */
  detach(): void {
    // The id is the first field the check reads, the payload the first it does not.
    const from = this.idAt;
    const digest = new Uint8Array(32);
    if (this.digestPayloadAt === this.payloadAt) digest.set(this.digests.subarray(this.digestAt, this.digestAt + 32));
    else blake3Into(this.bytes, this.payloadAt, this.to, digest, 0);
    this.bytes = this.bytes.slice(from, this.payloadAt);
    this.idAt -= from;
    this.entityAt -= from;
    this.prevAt -= from;
    this.contentAt -= from;
    this.payloadAt -= from;
    this.to = this.payloadAt;
    this.digests = digest;
    this.digestAt = 0;
    this.digestPayloadAt = this.payloadAt;
  }

  /** What the commit rules read of the frame: its type, sequence, flags and batch ref. */
  get frame(): Frame {
    return this as unknown as Frame;
  }

  get batch(): { readonly first: number; readonly index: number; readonly count: number } | undefined {
    return this.count === 0 ? undefined : this;
  }
}

/** A frame of a segment whose frames say what is committed, as the commit rules hold it: placed, or decoded from a copy the walk owns. */
type MetFrame = ScannedFrame;

/** Recovery's commit rules over one segment, fed a frame at a time exactly as a scan of it (segment-walk.ts) feeds them. */
class FramesCommit {
  readonly rules: CommitRules<MetFrame>;
  /** The last event frame fed; an event frame at or below it is not fed (the scan leaves it out). */
  lastSequence = 0;
  /** After a damaged frame header nothing more commits in the segment: the scan stops there. */
  ended = false;
  /** The frames read in place that wait in the rules, in order (what `detach` visits when too many bytes are held). */
  placed: PlacedFrame[] = [];
  /**
   * The frames of a batch begun while the rules held nothing, held as a run (no object per frame) until the batch
   * completes; anything else the rules must see first gets the run pushed into them as PlacedFrames (`ChainWalk.#unrun`).
   */
  readonly run = new PlacedRun();

  /** `compacted`: the segment header says compaction wrote it (every event frame in it is committed at once). */
  constructor(readonly compacted: boolean) {
    this.rules = new CommitRules(compacted);
  }

  /** Whether nothing waits: neither in the rules nor in a run. */
  get idle(): boolean {
    return this.run.length === 0 && this.rules.idle;
  }
}

/** The findings of one verification, as its frames stream by in log order. */
class ChainWalk {
  readonly contentHashMismatches: string[] = [];
  readonly corruptFrames: CorruptFrameReport[] = [];
  readonly missingEvents: string[] = [];
  readonly danglingLinks: string[] = [];
  readonly gaps: string[] = [];
  /** Each entity's chain head so far (32 bytes per entity), keyed by the entity's bytes. */
  readonly heads = new EntityHeads();
  readonly #match = new CommittedBodyMatch();
  readonly #plain = new PlainEventBody();
  readonly #hash = new Uint8Array(32);
  /**
   * The last digests and frame bytes compared, as DataViews: a content hash is compared as eight 32-bit words, not 32
   * bytes (the frames of a chunk share both arrays, so the views are made once a chunk).
   */
  #digestBytes: Uint8Array | undefined;
  #digestWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  #frameBytes: Uint8Array | undefined;
  #frameWords: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
  /** The segment being walked, and its commit rules when its frames say what is committed (else undefined). */
  #segmentId = 0;
  #own: FramesCommit | undefined;
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
    this.input.committedEvent?.(expected.idBytes, 0, expected.segmentId, expected.offset);
    if ((flags & EventFlags.TOMBSTONE) === 0) {
      let hash = digests;
      let at = digestAt;
      if (payloadAt !== m.payloadAt) {
        blake3Into(bytes, m.payloadAt, to, this.#hash, 0);
        hash = this.#hash;
        at = 0;
      }
      if (!this.#sameHash(hash, at, bytes, m.contentAt)) this.contentHashMismatches.push(eventId);
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

  /** Whether `hash[at, +32)` equals `bytes[contentAt, +32)`. */
  #sameHash(hash: Uint8Array, at: number, bytes: Uint8Array, contentAt: number): boolean {
    if (hash !== this.#digestBytes) {
      this.#digestBytes = hash;
      this.#digestWords = new DataView(hash.buffer, hash.byteOffset, hash.byteLength);
    }
    if (bytes !== this.#frameBytes) {
      this.#frameBytes = bytes;
      this.#frameWords = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    const h = this.#digestWords;
    const b = this.#frameWords;
    for (let i = 0; i < 32; i += 4) if (h.getInt32(at + i, true) !== b.getInt32(contentAt + i, true)) return false;
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
      this.input.committedEvent?.(e.idBytes, 0, e.segmentId, e.offset);
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
    const eventId = expected.eventId;
    if (!crcOk) this.corruptFrames.push({ file, offset: pos, reason: 'frame CRC mismatch', eventId });
    // The index is derived: a field it holds that the frame does not is damage, never believed.
    const field = frameMismatch(expected, frame);
    if (field !== undefined) this.corruptFrames.push({ file, offset: pos, reason: `the index's ${field} differs from the frame`, eventId });
    this.#judge(frame, eventId, expected.segmentId, expected.offset);
  }

  /** A committed event's decoded frame: its content hash (or tombstone), its link and its seal. */
  #judge(frame: EventFrame, eventId: string, segmentId: number, offset: number): void {
    this.checked++;
    this.input.committedEvent?.(frame.id, 0, segmentId, offset);
    if ((frame.flags & EventFlags.TOMBSTONE) === 0) {
      if (!bytesEqual(blake3(frame.payload), frame.contentHash)) this.contentHashMismatches.push(eventId);
    } else this.#tombstone(eventId);
    // The link: a native chain is the entity's events; a broken link to an event compaction removed is a gap.
    if (!this.heads.follow(frame.entity, frame.prevHash, 0, frame.contentHash, 0)) this.#brokenLink(frame.prevHash, eventId);
    this.input.seals?.event(frame, eventId);
    this.input.observe?.(frame);
    this.sinceProgress++;
    if (this.input.paths !== undefined) this.input.paths.decoded++;
  }

  /**
   * Starts segment `seg`, read through `w`. When its frames are the authority for what it commits, the checks a scan
   * of it makes first (segment-walk.ts): its committed length is all there, and it has a header (which says whether
   * compaction wrote it).
   */
  async enter(seg: SegmentSnapshot, w: ReadWindow): Promise<void> {
    this.#segmentId = seg.id;
    this.#own = undefined;
    if ((this.input.committed as Partial<CommittedEvents>).fromFrames?.has(seg.id) !== true) return;
    if (w.end !== seg.committedEnd) throw BatpakError.corruptSegment(seg.path, w.end, `the segment has ${w.end} bytes, ${seg.committedEnd} were committed`);
    if (w.end < SEGMENT_HEADER_BYTES) throw BatpakError.corruptSegment(seg.path, 0, 'the segment has no header');
    // The header alone (a window's worth would be read again by the walk).
    this.#own = new FramesCommit(isCompactedHeader(await w.read(0, SEGMENT_HEADER_BYTES)));
  }

  /** The frames of a segment read through: whatever its rules still hold pending is not committed. */
  leave(): void {
    this.#own = undefined;
  }

  /**
   * In a segment whose frames say what is committed: reads in place the frame `bytes[from, to)` at file offset `pos`
   * when it is a plain event (canonical, not sealed) and feeds it to the commit rules; checked now when committed at
   * once, else when its batch completes (its chunk is kept meanwhile: `waiting`). False: not shown here, the caller
   * decodes a copy (`ownReference`).
   */
  ownInPlace(bytes: Uint8Array, from: number, to: number, crcOk: boolean, payloadAt: number, digests: Uint8Array, digestAt: number, pos: number): boolean {
    const own = this.#own!;
    const b = this.#plain;
    if (!crcOk || own.ended || this.input.observe !== undefined || !b.read(bytes, from, to) || (b.flags & EventFlags.SEALED) !== 0) return false;
    const g = b.globalSequence;
    // Not fed to the rules, as a scan leaves it out: no committed event.
    if (g <= own.lastSequence) return true;
    own.lastSequence = g;
    const run = own.run;
    const count = b.batchCount;
    if (own.rules.idle) {
      // What the rules would do with this frame while they hold only the run (CommitRules.push): an event without a
      // batch ref commits at once with nothing open; the first frame of a batch opens it (a batch of one commits at
      // once); the next frame of the open batch (same first, the next index) joins it, and the batch commits when as
      // many frames are in as that frame's count says.
      // In a compacted segment every event frame commits at once (the rules never hold one there).
      if (run.length === 0 && (count === 0 || own.compacted || (b.batchIndex === 0 && count === 1))) {
        this.#checkPlaced(bytes, to, b.idAt, b.entityAt, b.entityLength, b.prevAt, b.contentAt, b.payloadAt, b.flags, digests, digestAt, payloadAt, pos);
        return true;
      }
      if (count !== 0 && (run.length === 0 ? b.batchIndex === 0 : b.batchFirst === run.first && b.batchIndex === run.length)) {
        if (run.length === 0) run.begin(b.batchFirst);
        run.add(bytes, digests, pos, FRAME_HEADER_BYTES + to - from, g, count, to, b.idAt, b.entityAt, b.entityLength, b.prevAt, b.contentAt, b.payloadAt, b.flags, digestAt, payloadAt);
        if (run.length === count) this.#commitRun(run);
        return true;
      }
      this.#unrun(own);
    }
    const placed = new PlacedFrame(pos, FRAME_HEADER_BYTES + to - from, g, b.batchFirst, b.batchIndex, count, bytes, to, b.idAt, b.entityAt, b.entityLength, b.prevAt, b.contentAt, b.payloadAt, b.flags, digests, digestAt, payloadAt);
    own.placed.push(placed);
    for (const c of own.rules.push(placed)) this.#judgeOwn(c);
    if (own.rules.idle) own.placed = [];
    return true;
  }

  /** A run's batch is complete: each of its events is committed, checked in log order. */
  #commitRun(run: PlacedRun): void {
    for (let i = 0; i < run.length; i++) {
      this.#checkPlaced(run.bytes(i), run.to(i), run.idAt(i), run.entityAt(i), run.entityLength(i), run.prevAt(i), run.contentAt(i), run.payloadAt(i), run.flags(i), run.digests(i), run.digestAt(i), run.digestPayloadAt(i), run.pos(i));
    }
    run.clear();
  }

  /**
   * Pushes the run's frames into the rules as PlacedFrames, in order, before the rules see anything else: their state
   * is then what pushing each frame as it came would have made it (the rules held nothing when the run began, and none
   * of its pushes commits: a run is committed the moment its batch completes).
   */
  #unrun(own: FramesCommit): void {
    const run = own.run;
    for (let i = 0; i < run.length; i++) {
      const placed = new PlacedFrame(
        run.pos(i),
        run.frameLength(i),
        run.globalSequence(i),
        run.first,
        i,
        run.count(i),
        run.bytes(i),
        run.to(i),
        run.idAt(i),
        run.entityAt(i),
        run.entityLength(i),
        run.prevAt(i),
        run.contentAt(i),
        run.payloadAt(i),
        run.flags(i),
        run.digests(i),
        run.digestAt(i),
        run.digestPayloadAt(i),
      );
      own.placed.push(placed);
      own.rules.push(placed);
    }
    run.clear();
  }

  /**
   * Makes every frame waiting in the rules keep its own copy of what its check reads (PlacedFrame.detach), so the
   * chunks they were read in can be reused: a batch larger than `waitingBytes` never holds all its bytes.
   */
  detachWaiting(): void {
    const own = this.#own;
    if (own === undefined) return;
    this.#unrun(own);
    for (const p of own.placed) p.detach();
  }

  /**
   * Of `held` (chunks in file order), the index of the first one a frame still waiting lies in: its own or later
   * frames wait in it or after it (`held.length` when none does: the waiting frames keep their own copies).
   */
  #firstHeld(held: readonly Uint8Array[]): number {
    const own = this.#own;
    if (own === undefined) return held.length;
    if (own.run.length > 0) {
      const k = held.indexOf(own.run.bytes(0));
      if (k !== -1) return k;
    }
    for (const p of own.placed) {
      const k = held.indexOf(p.bytes);
      if (k !== -1) return k;
    }
    return held.length;
  }

  /** Whether frames wait in the commit rules (or a run) of the segment being walked (their chunks must not be reused yet). */
  get waiting(): boolean {
    return this.#own !== undefined && !this.#own.idle;
  }

  /**
   * A committed plain event read in place (its fields where they lie in `bytes`, PlainFields): its content hash (or
   * tombstone), its link, and that it is not sealed. Scalars, not a PlainFields object: a run's frames have none.
   */
  #checkPlaced(
    bytes: Uint8Array,
    to: number,
    idAt: number,
    entityAt: number,
    entityLength: number,
    prevAt: number,
    contentAt: number,
    payloadAt: number,
    flags: number,
    digests: Uint8Array,
    digestAt: number,
    digestPayloadAt: number,
    pos: number,
  ): void {
    this.checked++;
    // The hex id only where a finding names it: one string per event is most of what this path would allocate.
    this.input.committedEvent?.(bytes, idAt, this.#segmentId, pos);
    if ((flags & EventFlags.TOMBSTONE) === 0) {
      let hash = digests;
      let at = digestAt;
      if (digestPayloadAt !== payloadAt) {
        blake3Into(bytes, payloadAt, to, this.#hash, 0);
        hash = this.#hash;
        at = 0;
      }
      if (!this.#sameHash(hash, at, bytes, contentAt)) this.contentHashMismatches.push(toHex(bytes.subarray(idAt, idAt + 16)));
    } else this.#tombstone(toHex(bytes.subarray(idAt, idAt + 16)));
    if (!this.heads.followAt(bytes, entityAt, entityLength, bytes, prevAt, bytes, contentAt)) this.#brokenLink(bytes.subarray(prevAt, prevAt + 32), toHex(bytes.subarray(idAt, idAt + 16)));
    this.input.seals?.unsealedEventAt(bytes, idAt);
    this.sinceProgress++;
    if (this.input.paths !== undefined) this.input.paths.inPlace++;
  }

  /**
   * In a segment whose frames say what is committed: one frame decoded whole from `body` (a copy the walk owns: a frame
   * may wait in the rules until its batch or group completes), fed to the commit rules as a scan feeds them; every
   * event they commit is judged. A frame the scan leaves out is reported as the reference walk reports a frame that
   * is no committed event: its CRC or decoding failure, nothing else.
   */
  ownReference(file: string, pos: number, body: Uint8Array, crcOk: boolean): void {
    const own = this.#own!;
    // The rules see the run's frames before this one (the run may stay: a frame they leave out changes nothing, but
    // keeping two ways of holding one batch apart is not worth what it would save on damaged logs).
    this.#unrun(own);
    let frame: Frame;
    try {
      frame = decodeFrameBody(body);
    } catch (err) {
      this.corruptFrames.push({ file, offset: pos, reason: crcOk ? `undecodable frame: ${(err as Error).message}` : 'frame CRC mismatch' });
      return;
    }
    if (!crcOk) {
      this.corruptFrames.push({ file, offset: pos, reason: frame.type === 1 ? 'seal frame CRC mismatch' : 'frame CRC mismatch' });
      return;
    }
    const met: MetFrame = { offset: pos, length: FRAME_HEADER_BYTES + body.length, frame };
    if (frame.type === 1) {
      // The group it seals is committed (and fed to the seal check) before the seal itself is checked.
      if (!own.ended) for (const c of own.rules.push(met)) this.#judgeOwn(c);
      this.input.seals?.seal(frame);
    } else if (!own.ended && frame.globalSequence > own.lastSequence) {
      own.lastSequence = frame.globalSequence;
      for (const c of own.rules.push(met)) this.#judgeOwn(c);
    }
    if (own.rules.idle) own.placed = [];
  }

  #judgeOwn(c: MetFrame): void {
    if (c instanceof PlacedFrame) return this.#checkPlaced(c.bytes, c.to, c.idAt, c.entityAt, c.entityLength, c.prevAt, c.contentAt, c.payloadAt, c.flags, c.digests, c.digestAt, c.digestPayloadAt, c.offset);
    const frame = c.frame as EventFrame;
    this.#judge(frame, toHex(frame.id), this.#segmentId, c.offset);
  }

  /** A damaged frame header: in a segment whose frames say what is committed, nothing after it commits. */
  #headerDamage(file: string, offset: number): void {
    this.corruptFrames.push({ file, offset, reason: 'damaged frame header' });
    if (this.#own !== undefined) this.#own.ended = true;
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
      if (step.kind === 'damage') this.#headerDamage(file, step.offset);
      else if (this.#own !== undefined) this.ownReference(file, step.offset, step.body!.slice(), step.crcOk === true);
      else await this.reference(file, step.offset, step.body!, step.crcOk === true);
      await this.between();
    }
  }

  /** One segment in chunks read and digested ahead; damage is walked one step at a time as `decodeAll` walks it. */
  async inChunks(file: string, w: ReadWindow, ahead: ChunkReadAhead): Promise<void> {
    const end = w.end;
    let pos = SEGMENT_HEADER_BYTES;
    const held: Uint8Array[] = [];
    let heldBytes = 0;
    while (pos < end) {
      // A turn of the event loop per chunk: read completions and worker replies are only handled in one, so without
      // it a walk that is ahead (its next chunk ready) starves the reads and workers behind it.
      // Measured at 1M x 256 B (chrt, load ~7): 1.46-1.50 s without it, 1.36-1.39 s with it.
      await new Promise<void>((r) => setImmediate(r));
      const chunk = await ahead.take(pos);
      if (chunk !== undefined) {
        const d: ChunkDigest = await chunk.digest;
        const bytes = d.bytes;
        let rel = 0;
        const own = this.#own !== undefined;
        for (let i = 0; i < chunk.frames; i++) {
          const from = rel + FRAME_HEADER_BYTES;
          const to = from + u32(bytes, rel + 4);
          const crcOk = d.crcOk[i] === 1;
          if (own) {
            if (!this.ownInPlace(bytes, from, to, crcOk, d.payloadAt[i]!, d.digests, i * 32, chunk.at + rel)) this.ownReference(file, chunk.at + rel, bytes.slice(from, to), crcOk);
          } else if (!this.inPlace(bytes, from, to, crcOk, d.payloadAt[i]!, d.digests, i * 32)) await this.reference(file, chunk.at + rel, bytes.slice(from, to), crcOk);
          rel = to;
          if (this.committed.needsFill || this.sinceProgress >= PROGRESS_EVERY) await this.between();
        }
        // A chunk frames still wait in (a batch not yet complete) is kept until they are judged, up to
        // `waitingBytes`: past that the waiting frames keep copies of their fields and the chunks are let go.
        if (this.waiting) {
          held.push(bytes);
          heldBytes += bytes.length;
          // The chunks before the one the oldest waiting frame lies in hold nothing that waits any more (a batch
          // that began in an earlier chunk completed and the next began): without this, at 4096-event batches the
          // chunks were kept until 32 MiB were held, and every read took a fresh buffer.
          const keep = this.#firstHeld(held);
          if (keep > 0) {
            for (let k = 0; k < keep; k++) {
              heldBytes -= held[k]!.length;
              ahead.release(held[k]!);
            }
            held.splice(0, keep);
          }
          if (heldBytes > (this.input.waitingBytes ?? WAITING_BYTES)) {
            this.detachWaiting();
            for (const h of held) ahead.release(h);
            held.length = 0;
            heldBytes = 0;
          }
        } else {
          for (const h of held) ahead.release(h);
          held.length = 0;
          heldBytes = 0;
          ahead.release(bytes);
        }
        pos = chunk.end;
        continue;
      }
      const h = (await w.ensure(pos, FRAME_HEADER_BYTES)) ? readFrameHeader(w.bytes, pos - w.at) : undefined;
      if (frameHeaderDamage(h, pos, end) !== undefined) {
        this.#headerDamage(file, pos);
        const next = await w.indexOf(MAGIC_BYTES, pos + 1);
        if (next === -1) return;
        pos = next;
        continue;
      }
      const length = FRAME_HEADER_BYTES + h!.length;
      await w.ensure(pos, length);
      const body = w.view(pos + FRAME_HEADER_BYTES, h!.length);
      if (this.#own !== undefined) this.ownReference(file, pos, body.slice(), crc32(body) === h!.crc);
      else await this.reference(file, pos, body, crc32(body) === h!.crc);
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
        await walk.enter(seg, w);
        if (fast) await walk.inChunks(seg.path, w, new ChunkReadAhead(w, digester, Math.max(1, READ_AHEAD_PER_WORKER * workers), input.chunkBytes ?? READ_AHEAD_CHUNK_BYTES));
        else await walk.decodeAll(seg.path, w);
      } finally {
        walk.leave();
        await w.close();
      }
    }
    // Committed events after the last frame on disk are missing.
    for (let e = rest.peek(); e !== undefined; e = rest.peek()) {
      walk.missingEvents.push(e.eventId);
      input.committedEvent?.(e.idBytes, 0, e.segmentId, e.offset);
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
