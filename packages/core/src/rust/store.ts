// RustStore: a read-only view of a Rust batpak data directory with the read API of our Store.
// Invariant: it never writes, creates, renames or locks anything in the Rust directory (reads only, via Fs).

import type { AncestorWalkOptions, EventLog, EventLogVerifyOptions } from '../event-log.js';
import { checkFilter } from '../query-filter.js';
import { BatpakError } from '../errors.js';
import { bytesEqual } from '../encoding/hex.js';
import type { Fs } from '../fs/fs.js';
import { RealFs } from '../fs/real.js';
import { isEventIdString } from '../id.js';
import { kindFromRaw, kindToRaw } from '../kind.js';
import type { ReceiptVerdict } from '../receipt/verify.js';
import type { AncestorWalk, ChainVerificationReport, QueryFilter, RawEvent, StoreStats, StoredEvent } from '../types.js';
import { walkRustAncestors } from './ancestry.js';
import { verifyRustChain, type RustLinkRule } from './chain.js';
import { rustCorrupt } from './format.js';
import { decodeRustFrameBody, describeProbe, probeFrame } from './frame.js';
import type { RustEventHeader } from './header.js';
import { readRange } from './io.js';
import { decodeRustPayload, rustCoordinate, rustEventHeader } from './mapping.js';
import { rustClaimProblem, verifyRustReceiptClaim, type RustReceiptClaim, type RustReceiptFields } from './receipt.js';
import { scanRustDirectory, type RustIndexEntry, type RustSegmentInfo } from './scan.js';
import type { RustSidecarPolicy } from './sidecars.js';

export interface OpenRustStoreOptions {
  /** Filesystem to read through; default RealFs. */
  readonly fs?: Fs;
  /** Aborts the opening scan (ERR_ABORTED). */
  readonly signal?: AbortSignal;
  /**
   * A damaged `store.meta` (ERR_CORRUPT_METADATA) or a `store.meta`, `index.ckpt` or `index.fbati` of a newer
   * format version (ERR_FUTURE_FORMAT_VERSION): `'refuse'` (default) refuses the open as Rust batpak does;
   * `'warn'` opens anyway and lists the problem in `warnings` (the segments are read either way).
   */
  readonly sidecars?: RustSidecarPolicy;
}

/** A Rust event as its frame records it, beyond what our EventHeader carries. */
export interface RustEventInfo {
  readonly eventId: string;
  readonly globalSequence: bigint;
  /** `sidx` when the sequence came from a trusted SDX3 footer, `scan` when synthesized in commit order. */
  readonly sequenceSource: 'scan' | 'sidx';
  readonly coordinate: { readonly entity: string; readonly scope: string };
  readonly kindRaw: number;
  readonly header: RustEventHeader;
  readonly prevHash: Uint8Array;
  readonly eventHash: Uint8Array;
  readonly receiptExtensions: ReadonlyMap<string, Uint8Array>;
  readonly location: { readonly segmentId: bigint; readonly file: string; readonly offset: number; readonly length: number };
  readonly batch?: { readonly first: bigint; readonly index: number; readonly count: number };
}

export interface RustStoreStats extends StoreStats {
  readonly format: 'rust-batpak';
  /** Events by kind category 0x0 / 0xD (written by Rust itself) and the rest. */
  readonly systemEvents: bigint;
  readonly userEvents: bigint;
  readonly warnings: number;
}

export interface RustVerifyChainOptions extends EventLogVerifyOptions {
  /** Link rule; default 'predecessor' (stricter than Rust). See RUST-INTEROP.md. */
  readonly links?: RustLinkRule;
}

function compareSeq(list: readonly RustIndexEntry[], after: bigint): number {
  // First index with globalSequence > after (entries ascend).
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.globalSequence > after) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** A Rust batpak data directory as an EventLog (the read interface of our Store), plus what only Rust frames record. */
export class RustStore implements EventLog {
  readonly dir: string;
  readonly format = 'rust-batpak' as const;
  readonly readOnly = true as const;
  readonly #fs: Fs;
  readonly #all: readonly RustIndexEntry[];
  readonly #byId: ReadonlyMap<string, RustIndexEntry>;
  readonly #byEntity: ReadonlyMap<string, readonly RustIndexEntry[]>;
  readonly #segments: readonly RustSegmentInfo[];
  readonly #warnings: readonly string[];
  #closed = false;

  private constructor(dir: string, fs: Fs, entries: readonly RustIndexEntry[], segments: readonly RustSegmentInfo[], warnings: readonly string[]) {
    this.dir = dir;
    this.#fs = fs;
    this.#all = entries;
    this.#segments = segments;
    this.#warnings = warnings;
    const byId = new Map<string, RustIndexEntry>();
    const byEntity = new Map<string, RustIndexEntry[]>();
    for (const e of entries) {
      byId.set(e.eventId, e);
      const list = byEntity.get(e.entity);
      if (list === undefined) byEntity.set(e.entity, [e]);
      else list.push(e);
    }
    this.#byId = byId;
    this.#byEntity = byEntity;
  }

  /**
   * Scans `dir` (Rust's `{id:06}.fbat` segments) and builds the index in memory. Takes no lock and writes
   * nothing. ERR_CORRUPT_SEGMENT (file, offset) for damage, ERR_NOT_FOUND for a missing directory,
   * ERR_COMPACTION_RECOVERY_REFUSED while a Rust compaction is pending, ERR_CORRUPT_METADATA /
   * ERR_FUTURE_FORMAT_VERSION for the sidecars Rust refuses (see `sidecars`).
   */
  static async open(dir: string, options: OpenRustStoreOptions = {}): Promise<RustStore> {
    if (typeof dir !== 'string' || dir.length === 0) throw BatpakError.invalidArgument('dir must be a non-empty string', { field: 'dir' });
    const fs = options.fs ?? new RealFs();
    if (options.sidecars !== undefined && options.sidecars !== 'refuse' && options.sidecars !== 'warn') {
      throw new BatpakError('ERR_INVALID_OPTION', "sidecars must be 'refuse' or 'warn'", { details: { field: 'sidecars' } });
    }
    const scan = await scanRustDirectory({ fs, dir, signal: options.signal, sidecars: options.sidecars });
    return new RustStore(dir, fs, scan.entries, scan.segments, scan.warnings);
  }

  #assertOpen(): void {
    if (this.#closed) throw BatpakError.storeClosed('the Rust store is closed');
  }

  #entry(eventId: string): RustIndexEntry {
    if (!isEventIdString(eventId)) {
      throw BatpakError.invalidArgument('eventId must be 32 lowercase hex characters', { field: 'eventId' });
    }
    const e = this.#byId.get(eventId);
    if (e === undefined) throw BatpakError.notFound(`no event ${eventId}`, { eventId });
    return e;
  }

  /** Re-reads the frame (CRC-checked, like every plain read; only verifyChain recomputes the hash). */
  async #payload(e: RustIndexEntry): Promise<Uint8Array> {
    const bytes = await readRange(this.#fs, e.file, e.offset, e.length);
    if (bytes === undefined) throw rustCorrupt(e.file, e.offset, 'the frame is no longer in the file', { eventId: e.eventId });
    const probe = probeFrame(bytes, 0, bytes.length);
    if (probe.kind !== 'frame') throw rustCorrupt(e.file, e.offset, describeProbe(probe), { eventId: e.eventId });
    let body;
    try {
      body = decodeRustFrameBody(probe.body);
    } catch (err) {
      throw rustCorrupt(e.file, e.offset, `frame does not decode: ${(err as Error).message}`, { eventId: e.eventId, cause: err });
    }
    if (!bytesEqual(body.header.eventId, e.idBytes)) throw rustCorrupt(e.file, e.offset, 'the frame holds a different event now', { eventId: e.eventId });
    return body.payload;
  }

  /** For query and walks: a sealed event is included with an undefined payload instead of failing the stream. */
  async #load(e: RustIndexEntry): Promise<StoredEvent> {
    const header = rustEventHeader(e);
    const coordinate = rustCoordinate(e);
    const bytes = await this.#payload(e);
    if (header.encrypted) return { header, coordinate, payload: undefined, shredded: false };
    return { header, coordinate, payload: decodeRustPayload(e, bytes), shredded: false };
  }

  /** The decoded event. ERR_NOT_FOUND for an unknown id; ERR_ENCRYPTION_NOT_CONFIGURED for a sealed payload. */
  async get<T = unknown>(eventId: string): Promise<StoredEvent<T>> {
    this.#assertOpen();
    const e = this.#entry(eventId);
    const bytes = await this.#payload(e);
    return { header: rustEventHeader(e), coordinate: rustCoordinate(e), payload: decodeRustPayload(e, bytes) as T, shredded: false };
  }

  /** The stored payload bytes exactly (the int-array payload of the frame, as bytes). */
  async getRaw(eventId: string): Promise<RawEvent> {
    this.#assertOpen();
    const e = this.#entry(eventId);
    return { header: rustEventHeader(e), coordinate: rustCoordinate(e), bytes: await this.#payload(e) };
  }

  /** Events in global-sequence order matching every given filter field (system events included). */
  async *query(filter: QueryFilter = {}): AsyncIterable<StoredEvent> {
    this.#assertOpen();
    const { entity, scope, kind: kindTest, after, limit: max } = checkFilter(filter);
    const list = entity === undefined ? this.#all : (this.#byEntity.get(entity) ?? []);
    let yielded = 0;
    for (let i = after === undefined ? 0 : compareSeq(list, after); i < list.length && yielded < max; i++) {
      if (filter.signal?.aborted === true) throw BatpakError.aborted('query');
      const e = list[i]!;
      if (scope !== undefined && e.scope !== scope) continue;
      if (kindTest !== undefined && !kindTest(e.header.eventKind)) continue;
      this.#assertOpen();
      yield await this.#load(e);
      yielded++;
    }
  }

  /** Follows prev_hash links back from `eventId` (included) inside its entity and reports why it stopped. */
  async walkAncestors(eventId: string, options: AncestorWalkOptions = {}): Promise<AncestorWalk> {
    this.#assertOpen();
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    if (!Number.isSafeInteger(limit) || limit < 1) throw BatpakError.invalidArgument('limit must be a positive integer');
    return walkRustAncestors({
      anchor: this.#byId.get(eventId),
      anchorId: eventId,
      entityEvents: (entity) => this.#byEntity.get(entity) ?? [],
      limit,
      load: (e) => this.#load(e),
    });
  }

  /** Re-reads every indexed frame, recomputes every content hash, checks every link; a report, not a boolean. */
  async verifyChain(options: RustVerifyChainOptions = {}): Promise<ChainVerificationReport> {
    this.#assertOpen();
    return verifyRustChain({ fs: this.#fs, entries: this.#all, links: options.links ?? 'predecessor', signal: options.signal, onProgress: options.onProgress });
  }

  stats(): RustStoreStats {
    this.#assertOpen();
    let system = 0n;
    for (const e of this.#all) {
      const c = e.header.eventKind >>> 12;
      if (c === 0x0 || c === 0xd) system++;
    }
    return {
      format: 'rust-batpak',
      events: BigInt(this.#all.length),
      segments: this.#segments.length,
      bytes: this.#segments.reduce((n, s) => n + BigInt(s.bytes), 0n),
      systemEvents: system,
      userEvents: BigInt(this.#all.length) - system,
      warnings: this.#warnings.length,
    };
  }

  /** The segments as scanned: footer kind and trust, torn tails, where sequences came from. */
  segments(): readonly RustSegmentInfo[] {
    this.#assertOpen();
    return this.#segments;
  }

  /** What Rust would have logged while recovering (discarded batches, stray markers, torn tails). */
  get warnings(): readonly string[] {
    return this.#warnings;
  }

  /** Everything the frame says about an event, without reading the payload. */
  rustEvent(eventId: string): RustEventInfo {
    this.#assertOpen();
    const e = this.#entry(eventId);
    return {
      eventId: e.eventId,
      globalSequence: e.globalSequence,
      sequenceSource: e.sequenceSource,
      coordinate: { entity: e.entity, scope: e.scope },
      kindRaw: e.header.eventKind,
      header: e.header,
      prevHash: e.hashChain.prevHash,
      eventHash: e.hashChain.eventHash,
      receiptExtensions: e.extensions,
      location: { segmentId: e.segmentId, file: e.file, offset: e.offset, length: e.length },
      ...(e.batch === undefined ? {} : { batch: e.batch }),
    };
  }

  /**
   * The fields Rust's receipt cover binds for a committed event (no signature: Rust never stores it).
   * Sign them with signRustReceipt, or compare a receipt a Rust service issued with verifyReceipt.
   */
  receiptFields(eventId: string): RustReceiptFields {
    this.#assertOpen();
    const e = this.#entry(eventId);
    return {
      eventId: e.eventId,
      globalSequence: e.globalSequence,
      coordinate: { entity: e.entity, scope: e.scope },
      kind: kindFromRaw(e.header.eventKind),
      prevHash: e.hashChain.prevHash,
      contentHash: e.hashChain.eventHash,
      ...(e.extensions.size === 0 ? {} : { extensions: e.extensions }),
    };
  }

  /**
   * A Rust receipt against this store: every covered field must match the committed event (the first
   * disagreement is named), then the signature decision of verifyRustReceiptClaim. Disk position is not
   * compared (Rust's store-side check does; a compaction that moves a frame would fail it).
   */
  verifyReceipt(claim: RustReceiptClaim, publicKeys: readonly Uint8Array[]): ReceiptVerdict {
    this.#assertOpen();
    const bad = rustClaimProblem(claim);
    if (bad !== undefined) return { status: 'invalid', reason: bad };
    const e = this.#byId.get(claim.eventId);
    if (e === undefined) return { status: 'invalid', reason: 'eventId: no committed event has this id' };
    const c = this.receiptFields(claim.eventId);
    if (claim.globalSequence !== c.globalSequence) return { status: 'invalid', reason: 'globalSequence: differs from the committed event' };
    if (claim.coordinate.entity !== c.coordinate.entity || claim.coordinate.scope !== c.coordinate.scope) {
      return { status: 'invalid', reason: 'coordinate: differs from the committed event' };
    }
    if (kindToRaw(claim.kind) !== kindToRaw(c.kind)) return { status: 'invalid', reason: 'kind: differs from the committed event' };
    if (!bytesEqual(claim.prevHash, c.prevHash)) return { status: 'invalid', reason: 'prevHash: differs from the committed event' };
    if (!bytesEqual(claim.contentHash, c.contentHash)) return { status: 'invalid', reason: 'contentHash: differs from the committed event' };
    const a = claim.extensions ?? new Map<string, Uint8Array>();
    const b = c.extensions ?? new Map<string, Uint8Array>();
    if (a.size !== b.size || [...a].some(([k, v]) => !b.has(k) || !bytesEqual(v, b.get(k)!))) {
      return { status: 'invalid', reason: 'extensions: differ from the committed event' };
    }
    return verifyRustReceiptClaim(claim, publicKeys);
  }

  /** Releases nothing on disk (nothing is held open between calls); later calls fail with ERR_STORE_CLOSED. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Opens a Rust batpak data directory read-only (see RustStore.open). */
export function openRustStore(dir: string, options: OpenRustStoreOptions = {}): Promise<RustStore> {
  return RustStore.open(dir, options);
}
