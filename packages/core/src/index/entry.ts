// The in-memory index entry of one committed event: where its frame lives and the header fields
// reads, queries and chain checks need without touching disk.

import type { BatchRef, EncryptionRef } from '../segment/frame.js';

export interface IndexEntry {
  readonly eventId: string;
  readonly idBytes: Uint8Array;
  readonly globalSequence: number;
  readonly entitySequence: number;
  readonly kind: number;
  readonly entity: string;
  readonly scope: string;
  readonly committedAt: number;
  readonly prevHash: Uint8Array;
  readonly contentHash: Uint8Array;
  readonly payloadVersion: number;
  readonly flags: number;
  readonly batch: BatchRef | undefined;
  readonly encryption: EncryptionRef | undefined;
  readonly extensions: ReadonlyMap<string, Uint8Array> | undefined;
  /** Where the frame is: segment id, byte offset of the frame magic, header + body length. */
  segmentId: number;
  offset: number;
  readonly length: number;
}
