// EventLog: the read interface both stores implement — the native Store and RustStore (a Rust batpak data
// directory, read-only). Invariant: only what both really do, with one meaning, so code written against it runs on either.

import type { AncestorWalk, ChainVerificationReport, QueryFilter, RawEvent, StoredEvent, StoreStats } from './types.js';

/** What every `verifyChain` accepts (a store may take more: `Store` also checks an attestation). */
export interface EventLogVerifyOptions {
  /** Aborts the check between frames (ERR_ABORTED). */
  readonly signal?: AbortSignal;
  /** Events checked so far, of how many. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Options of `walkAncestors`. */
export interface AncestorWalkOptions {
  /** Most events to return, the anchor included; a positive safe integer (default: no limit). */
  readonly limit?: number;
}

/**
 * A committed, hash-chained log of events that can be read and verified. Differences between the two
 * implementations are in the values, never the shapes: a Rust log numbers global sequences from 0 (ours
 * from 1) and chains per (entity, lane) rather than per entity (packages/core/RUST-INTEROP.md).
 */
export interface EventLog {
  /** The data directory the log was opened from. */
  readonly dir: string;
  /** True when nothing can be appended through this handle (always for a Rust directory). */
  readonly readOnly: boolean;
  /** The decoded event. ERR_NOT_FOUND for an unknown id; a payload that cannot be decoded here fails with its own code. */
  get<T = unknown>(eventId: string): Promise<StoredEvent<T>>;
  /** The stored payload bytes exactly as on disk (ciphertext when sealed). */
  getRaw(eventId: string): Promise<RawEvent>;
  /** Events in commit (global-sequence) order matching every given filter field. */
  query(filter?: QueryFilter): AsyncIterable<StoredEvent>;
  /** Follows prevHash links back from `eventId` (included) and says why the walk stopped. */
  walkAncestors(eventId: string, options?: AncestorWalkOptions): Promise<AncestorWalk>;
  /** Re-reads every committed frame, recomputes every content hash, checks every link: a report, never a throw for damage. */
  verifyChain(options?: EventLogVerifyOptions): Promise<ChainVerificationReport>;
  /** Committed events, segment files and their bytes. */
  stats(): StoreStats;
  /** Releases what the handle holds; later calls fail with ERR_STORE_CLOSED. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
