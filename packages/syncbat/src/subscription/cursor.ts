// Event-category cursor v1: 40 opaque bytes `BPSC | 01 | 01 | position | category | H16(sub) | wall_ms | seq` (big-endian).
// Invariant: decode checks length, magic, version, source kind, position kind and zero fields of a beginning cursor, in that order.

import { blake3 } from '@batpak/core';
import { SubscriptionError } from './error.js';

export const EVENT_CURSOR_V1_LEN = 40;
const MAGIC = [0x42, 0x50, 0x53, 0x43]; // "BPSC"
const VERSION = 0x01;
const SOURCE_EVENT_CATEGORY = 0x01;
const POSITION_BEGINNING = 0x00;
const POSITION_AFTER_SEQUENCE = 0x01;
const SUBSCRIPTION_DOMAIN = new TextEncoder().encode('syncbat.event-stream.cursor.subscription-id.v1\0');

export interface EventStreamCursor {
  readonly category: number;
  /** First 16 bytes of BLAKE3(domain ‖ subscription id): binds the cursor to its route. */
  readonly subscriptionIdHash: Uint8Array;
  /** Commit time at the cursor point; metadata only, never used to resume. */
  readonly wallMs: bigint;
  /** `undefined` = beginning; otherwise resume strictly after this global sequence. */
  readonly afterSequence: bigint | undefined;
}

export function subscriptionIdHash(subscriptionId: string): Uint8Array {
  return blake3(SUBSCRIPTION_DOMAIN, new TextEncoder().encode(subscriptionId)).slice(0, 16);
}

export function beginningCursor(subscriptionId: string, category: number): EventStreamCursor {
  return { category, subscriptionIdHash: subscriptionIdHash(subscriptionId), wallMs: 0n, afterSequence: undefined };
}

export function afterSequenceCursor(subscriptionId: string, category: number, sequence: bigint, wallMs: bigint): EventStreamCursor {
  return { category, subscriptionIdHash: subscriptionIdHash(subscriptionId), wallMs, afterSequence: sequence };
}

export function encodeEventCursor(c: EventStreamCursor): Uint8Array {
  const out = new Uint8Array(EVENT_CURSOR_V1_LEN);
  const view = new DataView(out.buffer);
  out.set(MAGIC, 0);
  out[4] = VERSION;
  out[5] = SOURCE_EVENT_CATEGORY;
  out[6] = c.afterSequence === undefined ? POSITION_BEGINNING : POSITION_AFTER_SEQUENCE;
  out[7] = c.category;
  out.set(c.subscriptionIdHash.subarray(0, 16), 8);
  view.setBigUint64(24, BigInt.asUintN(64, c.wallMs));
  view.setBigUint64(32, BigInt.asUintN(64, c.afterSequence ?? 0n));
  return out;
}

const invalid = (reason: string) => new SubscriptionError('cursor_invalid', reason);

/** Parses cursor bytes; throws SubscriptionError `cursor_invalid` with Rust's reason. */
export function decodeEventCursor(bytes: Uint8Array): EventStreamCursor {
  if (bytes.length !== EVENT_CURSOR_V1_LEN) throw invalid('cursor length is not 40 bytes');
  if (MAGIC.some((b, i) => bytes[i] !== b)) throw invalid('cursor magic mismatch');
  if (bytes[4] !== VERSION) throw invalid('cursor version mismatch');
  if (bytes[5] !== SOURCE_EVENT_CATEGORY) throw invalid('cursor source kind mismatch');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const wallMs = view.getBigUint64(24);
  const sequence = view.getBigUint64(32);
  let afterSequence: bigint | undefined;
  if (bytes[6] === POSITION_BEGINNING) {
    if (wallMs !== 0n || sequence !== 0n) throw invalid('beginning cursor has nonzero numeric fields');
  } else if (bytes[6] === POSITION_AFTER_SEQUENCE) {
    afterSequence = sequence;
  } else {
    throw invalid('cursor position kind is invalid');
  }
  return { category: bytes[7]!, subscriptionIdHash: bytes.slice(8, 24), wallMs, afterSequence };
}

/** Throws SubscriptionError `cursor_mismatch` unless the cursor was minted for this route (category first, then id). */
export function checkEventCursorRoute(c: EventStreamCursor, subscriptionId: string, category: number): void {
  if (c.category !== category) throw new SubscriptionError('cursor_mismatch', 'cursor event category mismatch');
  const expected = subscriptionIdHash(subscriptionId);
  if (expected.some((b, i) => c.subscriptionIdHash[i] !== b)) throw new SubscriptionError('cursor_mismatch', 'cursor subscription id hash mismatch');
}
