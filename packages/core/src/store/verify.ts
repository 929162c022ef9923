// The store's checks of itself: verifyChain (every committed frame re-read, every hash, link and seal
// checked, optionally against an expected attestation) and verifyReceipt (a receipt against the committed event).
// Invariant: verification runs shared with other readers and exclusive of compaction, over one consistent
// snapshot of segments and committed events (segments and last sequence fixed in one synchronous step).

import { availableParallelism } from 'node:os';
import { HeadStream, judge } from '../attest/check.js';
import type { VerifyChainOptions } from '../attest/options.js';
import { verifyChain as verify, type CommittedEvents } from '../chain/verify.js';
import { entryTrusted, type CompactionEntry, type RemovedEvent, type RemovedSet } from '../compaction/log.js';
import { BatpakError } from '../errors.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { EventIndex } from '../event-index/event-index.js';
import { SealChecker } from '../receipt/seal-check.js';
import { compareWithCommitted, malformedField, verifySignature, type ReceiptVerdict } from '../receipt/verify.js';
import { EventFlags } from '../segment/frame.js';
import type { SegmentSet } from '../segment/set.js';
import type { SnapshotSource } from '../snapshot/copy.js';
import type { AppendReceipt, ChainVerificationReport, DirectoryDamageReport } from '../types.js';
import type { Fs } from '../fs/fs.js';
import { RealFs } from '../fs/real.js';
import { holdsSignedEvents } from './open-checks.js';
import { PinnedFs } from './read-only-open.js';
import type { SharedExclusiveLock } from './rwlock.js';
import { EventIdLog } from './event-id-log.js';
import { baseReceipt } from './views.js';

/** The segments and committed events of one moment: what a verification, attestation or snapshot covers. */
export interface CommittedSnapshot {
  readonly segments: readonly SnapshotSource[];
  /** The committed events up to `committed.through`, read from the index a page at a time as a walk reaches them. */
  readonly committed: CommittedEvents;
}

/** Progress and cancellation of a long verification. */
export interface VerifyProgress {
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((done: number, total: number) => void) | undefined;
}

export interface VerifyParts {
  readonly index: EventIndex;
  readonly segments: SegmentSet;
  readonly removed: RemovedSet;
  /** What the directory showed at open (lost segments, a contradicting checkpoint): every report carries it. */
  readonly damage: readonly DirectoryDamageReport[];
  readonly maintenance: SharedExclusiveLock;
  /** Public keys whose signatures the store accepts: its own, then trustedPublicKeys. */
  readonly verifyKeys: () => Uint8Array[];
  /** The entries of compaction.log as they are now (compaction appends to it). */
  readonly compactionEntries: () => readonly CompactionEntry[];
  /** Resolves once in-flight appends have landed. */
  readonly idle: () => Promise<void>;
  /** Whether a large verification may hash on worker threads (the store's Fs is the real file system). */
  readonly mayUseWorkers: boolean;
  /** Where the committed events come from when not `index.scan` (see CommittedScan). */
  readonly committedScan?: CommittedScan | undefined;
}

/**
 * The committed events of a store whose sealed segments are served from index files: the segments whose frames are
 * the authority for what they commit (the walk finds their events as it reads them, CommittedEvents.fromFrames), and a
 * scan of every other event that leaves those segments out and a damaged frame of a file-served one too (the walk reports it).
 */
export interface CommittedScan {
  sealedSegmentIds(): readonly number[];
  scan(fromGlobal: number, leaveOut: ReadonlySet<number>): AsyncIterable<readonly IndexEntry[]>;
}

const NO_SEGMENTS: ReadonlySet<number> = new Set();

/**
 * Below this many segment bytes a verification stays on this thread: starting workers (tens of ms) would
 * cost more than they save.
 */
export const VERIFY_WORKERS_FROM_BYTES = 32 * 1024 * 1024;

/** Whether `fs` is the real file system (a read-only open pins its files behind a PinnedFs over it). */
export function onRealFs(fs: Fs): boolean {
  return fs instanceof RealFs || (fs instanceof PinnedFs && onRealFs(fs.base));
}

/**
 * Worker threads for a verification of `bytes` segment bytes on `cores` cores: up to two, leaving a core to this
 * thread, which checks every event in order the whole time. Why: on 2 cores two workers beside it ran slower than one
 * (1M events, interleaved: 256 B 173 -> 199 MB/s under chrt and 44 -> 51 without at load ~12; 1 KiB 484 -> 486 and
 * 106 -> 173), and with less CPU: three busy threads on two cores wait on each other's time slices.
 */
export function verifyWorkers(mayUseWorkers: boolean, bytes: number, cores = availableParallelism()): number {
  return mayUseWorkers && bytes >= VERIFY_WORKERS_FROM_BYTES ? Math.max(0, Math.min(2, cores - 1)) : 0;
}

export class StoreVerifier {
  readonly #p: VerifyParts;

  constructor(parts: VerifyParts) {
    this.#p = parts;
  }

  async verifyChain(options: VerifyChainOptions): Promise<ChainVerificationReport> {
    if (options.expect !== undefined && (typeof options.expect !== 'object' || options.expect === null)) {
      throw BatpakError.invalidArgument('expect must be an attestation (attestationFromJSON parses one)', { field: 'expect' });
    }
    await this.#p.idle();
    return this.#p.maintenance.shared(async () => {
      const expect = options.expect;
      if (expect === undefined) return this.verifySnapshot(options);
      const limit = typeof expect.globalSequence === 'bigint' ? expect.globalSequence : 0n;
      const stream = new HeadStream(limit, this.trustedRemoved());
      const report = await this.verifySnapshot(options, stream);
      const attestation = judge(expect, this.#p.verifyKeys(), stream);
      return { ...report, attestation, intact: report.intact && attestation.status === 'extends' };
    });
  }

  /** Verifies one snapshot (by default: now), feeding every frame to `stream` when given. */
  async verifySnapshot(options: VerifyProgress, stream?: HeadStream, given?: CommittedSnapshot): Promise<ChainVerificationReport> {
    const snapshot = given === undefined ? this.committedSnapshot() : this.#againstOwnFiles(given);
    const { removed, index } = this.#p;
    const keys = this.#p.verifyKeys();
    const bytes = snapshot.segments.reduce((n, s) => n + s.committedEnd, 0);
    const duplicates = new DuplicateIds(snapshot.committed.count);
    return verify({
      fs: this.#p.segments.borrowingOpen(),
      workers: verifyWorkers(this.#p.mayUseWorkers, bytes),
      segments: snapshot.segments,
      committed: snapshot.committed,
      committedEvent: duplicates.see,
      removedHashes: removed.hashes(),
      directoryDamage: this.#p.damage,
      signal: options.signal,
      onProgress: options.onProgress,
      tombstone: (eventId) => removed.tombstone(eventId),
      seals: new SealChecker({
        keys,
        requireSigned: keys.length > 0 || holdsSignedEvents(index.summary()),
        removedLeaf: (g) => removed.bySequence(g)?.leaf,
        removedHeaderLeaf: (g) => removed.bySequence(g)?.headerLeaf,
      }),
      observe: stream === undefined ? undefined : (frame) => stream.frame(frame),
    }).then((report) => {
      stream?.finish();
      return duplicates.into(report, (id) => this.#p.segments.path(id));
    });
  }

  /**
   * The segments and committed events as of now (a consistent prefix): segments, the last global sequence
   * and the event count are fixed in one synchronous step; the entries up to that sequence are read from the
   * index as a walk reaches them, never collected whole. Callers hold the maintenance lock shared, so no
   * compaction moves an entry meanwhile, and appends only add after it.
   */
  committedSnapshot(): { segments: SnapshotSource[]; committed: CommittedEvents } {
    const s = this.#p.segments;
    const index = this.#p.index;
    const segments = s.ids().map((id) => ({ id, path: s.path(id), committedEnd: s.size(id) }));
    const committed = { count: index.size, through: index.lastGlobalSequence() };
    const scan = this.#p.committedScan;
    if (scan === undefined) return { segments, committed: { ...committed, pages: () => index.scan(1) } };
    // Sealed segments' events are read once, by the walk itself (compose.ts wires the scan that leaves them out).
    const held = new Set(s.ids());
    const fromFrames: ReadonlySet<number> = new Set(scan.sealedSegmentIds().filter((id) => held.has(id)));
    return { segments, committed: { ...committed, fromFrames, pages: () => scan.scan(1, fromFrames) } };
  }

  /**
   * `given` as verified: when its segments are not this store's own files (a snapshot's copy), the events of every
   * segment come from the index, so the copy is checked against what the store committed, not against itself.
   */
  #againstOwnFiles(given: CommittedSnapshot): CommittedSnapshot {
    const s = this.#p.segments;
    const scan = this.#p.committedScan;
    const own = given.segments.every((g) => s.ids().includes(g.id) && s.path(g.id) === g.path);
    if (own || given.committed.fromFrames === undefined || scan === undefined) return given;
    const { count, through } = given.committed;
    return { segments: given.segments, committed: { count, through, pages: () => scan.scan(1, NO_SEGMENTS) } };
  }

  /** Records of events compaction removed, from entries this store's keys trust (a head may include them). */
  trustedRemoved(): RemovedEvent[] {
    const keys = this.#p.verifyKeys();
    return this.#p.compactionEntries().filter((e) => entryTrusted(e, keys)).flatMap((e) => e.removed);
  }

  /** A receipt against the committed event (every field, first disagreement named) and its signature. */
  async verifyReceipt(receipt: AppendReceipt): Promise<ReceiptVerdict> {
    const bad = malformedField(receipt);
    if (bad !== undefined) return { status: 'invalid', reason: `${bad}: malformed` };
    const entry = await this.#p.index.get(receipt.eventId);
    if (entry === undefined) return { status: 'invalid', reason: 'eventId: no committed event has this id' };
    const mismatch = compareWithCommitted(receipt, baseReceipt(entry));
    if (mismatch !== undefined) return mismatch;
    return verifySignature(receipt, this.#p.verifyKeys(), (entry.flags & EventFlags.SEALED) === 0);
  }
}

/**
 * An event id committed twice is damage. An open refuses it among the segments it scans, but not when one of
 * the two lies in a segment served from its index file (it reads none of that segment's events): found here,
 * in the same pass as the walk (it sees every committed event in log order), over the snapshot's events only. It
 * holds each id (16 bytes) and its offset (8) while the walk runs, and searches them once at the end (EventIdLog):
 * verification is linear in the store anyway.
 */
class DuplicateIds {
  readonly #ids: EventIdLog;
  /** Each event's offset in its segment, by position in the log. */
  #offsets: Float64Array;
  /** Where each segment's events start in the log: positions and segment ids, one pair per change of segment. */
  readonly #runFrom: number[] = [];
  readonly #runSegment: number[] = [];

  /** `events`: how many the snapshot holds (the log is sized for them). */
  constructor(events: number) {
    this.#ids = new EventIdLog(events);
    this.#offsets = new Float64Array(Math.max(1024, events));
  }

  /** The next committed event in log order (VerifyChainInput.committedEvent). */
  readonly see = (id: Uint8Array, idAt: number, segmentId: number, offset: number): void => {
    const index = this.#ids.size;
    this.#ids.add(id, idAt);
    if (index === this.#offsets.length) {
      const more = new Float64Array(2 * index);
      more.set(this.#offsets);
      this.#offsets = more;
    }
    this.#offsets[index] = offset;
    const runs = this.#runSegment;
    if (runs.length === 0 || runs[runs.length - 1] !== segmentId) {
      this.#runFrom.push(index);
      runs.push(segmentId);
    }
  };

  into(report: ChainVerificationReport, path: (segmentId: number) => string): ChainVerificationReport {
    const repeats = this.#ids.repeats();
    if (repeats.length === 0) return report;
    const found = repeats.map((index) => {
      const eventId = this.#ids.idAt(index);
      return { file: path(this.#segmentAt(index)), offset: this.#offsets[index]!, reason: `duplicate event id ${eventId}`, eventId };
    });
    return { ...report, corruptFrames: [...report.corruptFrames, ...found], intact: false };
  }

  /** The segment of the event at log position `index` (the last run starting at or before it). */
  #segmentAt(index: number): number {
    const from = this.#runFrom;
    let lo = 0;
    let hi = from.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (from[mid]! <= index) lo = mid;
      else hi = mid - 1;
    }
    return this.#runSegment[lo]!;
  }
}
