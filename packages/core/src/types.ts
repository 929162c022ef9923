// Public data shapes of @batpak/core: receipts, stored events, reports. 64-bit counters are bigint,
// bytes are Uint8Array, ids are 32 lowercase hex characters.

import type { Coordinate } from './coordinate.js';
import type { EventDefinition } from './event.js';
import type { EventKind } from './kind.js';

export interface GroupProof {
  /** Position of this receipt's leaf in its commit group. */
  readonly index: number;
  /** Merkle siblings from the leaf up to the root (FORMAT.md § Receipt signatures). */
  readonly siblings: readonly Uint8Array[];
}

/** What `append` returns once the event is committed (durable under `sync: 'always'`). */
export interface AppendReceipt {
  readonly eventId: string;
  readonly globalSequence: bigint;
  readonly entitySequence: bigint;
  readonly kind: EventKind;
  readonly coordinate: { readonly entity: string; readonly scope: string };
  /** blake3 of the stored payload bytes (ciphertext when sealed). */
  readonly contentHash: Uint8Array;
  /** contentHash of the entity's previous event, or 32 zero bytes for its first. */
  readonly prevHash: Uint8Array;
  /** Commit time, Unix milliseconds (monotonic within a store). */
  readonly committedAt: bigint;
  readonly signature?: Uint8Array;
  /** Lowercase hex blake3 of the signing public key. */
  readonly keyId?: string;
  readonly groupProof?: GroupProof;
  /** Receipt extensions, e.g. `batpak.signing.downgrade` when signing was downgraded. */
  readonly extensions?: ReadonlyMap<string, Uint8Array>;
}

export interface EventHeader {
  readonly eventId: string;
  readonly globalSequence: bigint;
  readonly entitySequence: bigint;
  readonly kind: EventKind;
  readonly committedAt: bigint;
  readonly prevHash: Uint8Array;
  readonly contentHash: Uint8Array;
  /** Payload version the bytes were written at (0 = raw / app-managed). */
  readonly payloadVersion: number;
  /** Payload is application bytes from `appendRaw` (not msgpack written by the store). */
  readonly raw: boolean;
  readonly encrypted: boolean;
  /** Replaced by a tombstone during compaction: chain position kept, payload gone. */
  readonly tombstone: boolean;
  readonly batch?: { readonly first: bigint; readonly index: number; readonly count: number };
  /** The event that caused this one (append's `causationId`; a reaction's source event). */
  readonly causationId?: string;
  /** The conversation it belongs to (append's `correlationId`; a reaction's source's, or the source's id). */
  readonly correlationId?: string;
}

export interface StoredEvent<T = unknown> {
  readonly header: EventHeader;
  readonly coordinate: Coordinate;
  /** Decoded and upcast payload (`Uint8Array` for raw events); undefined when shredded or tombstoned. */
  readonly payload: T;
  /** True when the payload's key was destroyed by `shredScope` (payload is then undefined). */
  readonly shredded: boolean;
}

export interface RawEvent {
  readonly header: EventHeader;
  readonly coordinate: Coordinate;
  /** The stored payload bytes exactly (ciphertext when sealed). */
  readonly bytes: Uint8Array;
}

export interface QueryFilter {
  /** Exact entity. */
  readonly entity?: string;
  /** Exact scope. */
  readonly scope?: string;
  /** Exact kind (or an event definition, meaning its kind), or `{ category }` for a whole category. */
  readonly kind?: EventKind | { readonly category: number } | EventDefinition<unknown>;
  /** Only events with a global sequence strictly greater than this. */
  readonly after?: bigint;
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export type AncestryBoundary =
  | 'reached-genesis'
  | 'limit-reached'
  | 'missing-parent'
  | 'read-failure'
  | 'cycle'
  | 'no-anchor';

export interface AncestorWalk {
  /** Starts with the anchor itself, then its parents, newest first. */
  readonly ancestors: StoredEvent[];
  /** Why the walk stopped; `eventId` names the event where it stopped (the child for missing-parent). */
  readonly boundary: { readonly kind: AncestryBoundary; readonly eventId?: string };
  /** Ids of ancestors whose payload was shredded (included with an undefined payload). */
  readonly shredded: string[];
}

export interface CorruptFrameReport {
  readonly file: string;
  readonly offset: number;
  readonly reason: string;
  /** The event's id when the damaged frame still decodes. */
  readonly eventId?: string;
}

/** One piece of evidence of loss or tampering the store directory shows by itself. */
export interface DirectoryDamageReport {
  readonly reason: 'segment-id-gap' | 'missing-segment' | 'events-missing' | 'compactions-missing' | 'checkpoint-contradiction' | 'stray-file';
  /** The file the evidence concerns (the first missing segment, the checkpoint, the stray file). */
  readonly file: string;
  readonly message: string;
}

export interface ChainVerificationReport {
  readonly eventsChecked: number;
  /** Events whose stored payload no longer hashes to their stored content hash. */
  readonly contentHashMismatches: string[];
  /** Events whose prevHash is not the content hash of their entity's preceding event (tampering). */
  readonly danglingLinks: string[];
  /** Events whose parent was removed by compaction (provable from its record): not tampering. */
  readonly gaps: string[];
  /** Frames that fail their CRC or do not decode, with the event id when it can be read. */
  readonly corruptFrames: CorruptFrameReport[];
  /** Committed events that are no longer found on disk. */
  readonly missingEvents: string[];
  /**
   * Events without a valid signature where one is due: once the store holds signed events, or whenever
   * the verifier has keys, an unsigned event (unless a verified signing-policy declaration allowed
   * unsigned appends before it) and a signed one whose seal is missing, from an unknown key, or does not
   * verify against the frames as they are (covers and header fields).
   */
  readonly signatureFailures: string[];
  /** With `verifyChain({ expect })`: whether the store extends the attested state (else `intact` is false). */
  readonly attestation?: AttestationCheck;
  /** Events whose commit-group signature was checked against a trusted key (0: none were). */
  readonly signaturesChecked: number;
  /** Key ids (hex) of the trusted keys those checks used. */
  readonly keyIds: string[];
  /**
   * Events whose non-cover frame fields (flags, payload version, encryption reference, batch) could
   * not be checked — sealed by a format-1 seal (no header digest), or tombstoned by a version-1
   * compaction record. Not damage: older stores did not record what would prove them.
   */
  readonly headersUnverified: number;
  /**
   * What the directory itself shows was lost or does not belong (missing segments, a checkpoint that
   * recorded more events than the segments hold or contradicts them, stray segment-like files).
   */
  readonly directoryDamage: DirectoryDamageReport[];
  /** True when nothing but gaps was found. */
  readonly intact: boolean;
}

export interface StoreStats {
  readonly events: bigint;
  readonly segments: number;
  readonly bytes: bigint;
  readonly keys?: number;
  /** Commit groups this process wrote (writable stores only). */
  readonly commits?: CommitStats;
  /** What the event index holds in memory (a Store's; FORMAT.md § The index in two tiers). */
  readonly index?: StoreIndexStats;
}

/** What Store.stats().index reports: the index's memory, counted (not measured). */
export interface StoreIndexStats {
  /** Index entries held in memory: the active segment's, and a sealed segment's not (yet) served from its index file. */
  readonly residentEntries: number;
  /** Sealed segments served from their index files (`NNNNNN.bpi`). */
  readonly sealedSegments: number;
  /** Bytes the sealed segments' index files keep resident (headers, fences, Bloom filters, summaries). */
  readonly sealedBytes: number;
  /** Entity heads kept for entities whose latest event lies in a sealed segment. */
  readonly headEntries: number;
  /** Bytes of index-file blocks cached now (at most `indexCacheBytes`). */
  readonly cachedBytes: number;
}

/** Percentiles of one measure. Times are in milliseconds (microsecond resolution); 0 with no samples. */
export interface Percentiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** What Store.stats().commits reports: commit groups written since the store was opened. */
export interface CommitStats {
  /** Commit groups written. */
  readonly groups: number;
  /** Events per group. */
  readonly groupSize: Percentiles;
  /** How long a group's oldest append waited in the queue before its group started. */
  readonly queueWaitMs: Percentiles;
  readonly writeMs: Percentiles;
  /** 0 under sync 'none'. */
  readonly fsyncMs: Percentiles;
}

/** What verifyChain({ expect }) found about the attestation. */
export interface AttestationCheck {
  /**
   * `extends`: every attested event is present and unchanged. `unverified`: the attestation's signature
   * does not verify with the store's keys. `truncated`: the store ends before the attested sequence
   * (truncation, a deleted newest segment, a rollback to an older copy). `diverged`: the store reaches
   * the sequence but holds other events up to it (missing, inserted or rewritten).
   */
  readonly status: 'extends' | 'unverified' | 'truncated' | 'diverged';
  /** Why, when the status is not `extends`. */
  readonly reason?: string;
  readonly globalSequence: bigint;
  readonly eventCount: bigint;
}
