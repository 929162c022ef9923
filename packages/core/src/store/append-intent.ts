// What the append pipeline consumes: drafts (validated, encoded events waiting for their place in the
// log) and intents (one append, batch or import waiting in the batching queue with a way to settle it).
// Invariant: a draft carries everything its frame needs except its sequence numbers, link and commit time.

import type { BatchRef, EncryptionRef } from '../segment/frame.js';
import type { EventHeaderCore, EventHeaderOptionals } from '../segment/header-fields.js';
import type { IndexEntry } from '../event-index/entry.js';
import type { AppendReceipt } from '../types.js';

/** One event, validated and encoded, waiting for its sequence numbers. */
export interface EventDraft {
  readonly entity: string;
  readonly scope: string;
  readonly kind: number;
  readonly id: Uint8Array;
  readonly eventId: string;
  /** Stored payload bytes (ciphertext when sealed) and their blake3. */
  payload: Uint8Array;
  contentHash: Uint8Array;
  /** blake3 of the plaintext payload as appended (before sealing): what an idempotent repeat is compared by. */
  readonly requestHash?: Uint8Array;
  readonly payloadVersion: number;
  readonly flags: number;
  readonly keyed: boolean;
  encryption?: EncryptionRef;
  /** Receipt extensions the caller attached (persisted in the frame, covered by the signature). */
  readonly extensions?: ReadonlyMap<string, Uint8Array> | undefined;
}

/** An imported event's draft and its own commit time (kept unless it would go backwards). */
export interface ImportDraft {
  readonly draft: EventDraft;
  readonly committedAt: number | undefined;
}

/** A draft with its place in the log; becomes a frame. `flags` and `extensions` change if sealing is downgraded. */
export interface SequencedEvent {
  readonly draft: EventDraft;
  readonly globalSequence: number;
  readonly entitySequence: number;
  readonly prevHash: Uint8Array;
  readonly committedAt: number;
  readonly batch: BatchRef | undefined;
  flags: number;
  extensions: ReadonlyMap<string, Uint8Array> | undefined;
}

type Writable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Writes a sequenced event's header fields onto an object under construction: the one place they are
 * named, for its frame (encode-group.ts) and its index entry (IndexedEvent) alike. Called from those
 * constructors, so V8 keeps every field in-object (an object spread here cost ~100x a literal).
 */
export function setHeaderFields(into: Writable<EventHeaderCore & Partial<EventHeaderOptionals>>, ev: SequencedEvent): void {
  const d = ev.draft;
  into.globalSequence = ev.globalSequence;
  into.entitySequence = ev.entitySequence;
  into.kind = d.kind;
  into.entity = d.entity;
  into.scope = d.scope;
  into.committedAt = ev.committedAt;
  into.prevHash = ev.prevHash;
  into.contentHash = d.contentHash;
  into.payloadVersion = d.payloadVersion;
  into.flags = ev.flags;
  into.batch = ev.batch;
  into.encryption = d.encryption;
  into.extensions = ev.extensions;
}

// A class (not a literal) so setHeaderFields can fill it; the interface gives it the entry's field types.
export interface IndexedEvent extends IndexEntry {}
/** The index entry of a sequenced event whose frame landed at `segmentId`/`offset`, `length` bytes long. */
export class IndexedEvent {
  constructor(ev: SequencedEvent, segmentId: number, offset: number, length: number) {
    const self = this as Writable<IndexEntry>;
    self.eventId = ev.draft.eventId;
    self.idBytes = ev.draft.id;
    setHeaderFields(self, ev);
    self.segmentId = segmentId;
    self.offset = offset;
    self.length = length;
  }
}

export interface Settle<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
}

/** One caller's request, queued until its commit group is written; `queuedAt` is when it entered the queue (performance.now()). */
export type Intent =
  | { readonly type: 'single'; readonly draft: EventDraft; readonly expected: number | undefined; readonly settle: Settle<AppendReceipt>; readonly queuedAt: number }
  | { readonly type: 'batch'; readonly drafts: readonly EventDraft[]; readonly settle: Settle<AppendReceipt[]>; readonly queuedAt: number }
  | { readonly type: 'import'; readonly items: readonly ImportDraft[]; readonly settle: Settle<AppendReceipt[]>; readonly queuedAt: number };

/**
 * Bytes a draft is expected to take on disk beyond its payload (frame header, ids, coordinate, hashes):
 * an estimate the batching queue uses to cut groups near their byte budget, never a limit.
 */
export const FRAME_OVERHEAD_ESTIMATE = 256;

/** The estimated on-disk bytes of some drafts, for sizing commit groups. */
export function estimatedBytes(drafts: readonly EventDraft[]): number {
  let bytes = 0;
  for (const d of drafts) bytes += d.payload.length + FRAME_OVERHEAD_ESTIMATE;
  return bytes;
}
