// Maps an indexed Rust event onto @batpak/core's read shapes (EventHeader, StoredEvent, RawEvent).
// Invariant: nothing is invented — every mapped field comes from the frame, and RUST-INTEROP.md lists each one.

import { Coordinate } from '../coordinate.js';
import { BatpakError } from '../errors.js';
import { kindFromRaw } from '../kind.js';
import { decodePayload } from '../payload.js';
import type { EventHeader } from '../types.js';
import { RustKinds } from './format.js';
import type { RustIndexEntry } from './scan.js';

/**
 * Our EventHeader for a Rust event:
 * - globalSequence: Rust's 0-based global sequence (scan order or trusted SDX3 footer);
 * - entitySequence: `position.sequence`, Rust's 0-based per-(entity, lane) clock;
 * - committedAt: `timestamp_us / 1000` (Unix ms, truncated);
 * - prevHash / contentHash: `hash_chain.prev_hash` / `hash_chain.event_hash` (what Rust verifies);
 * - payloadVersion: `payload_version` (0 when the header has 9 keys);
 * - raw: false (Rust payloads are always its canonical msgpack); encrypted: `payload_encryption` present;
 * - tombstone: kind 0x0FFE; batch: `{ first, index, count }` for items of a BEGIN/COMMIT batch.
 */
export function rustEventHeader(e: RustIndexEntry): EventHeader {
  return {
    eventId: e.eventId,
    globalSequence: e.globalSequence,
    entitySequence: BigInt(e.header.position.sequence),
    kind: kindFromRaw(e.header.eventKind),
    committedAt: e.header.timestampUs / 1000n,
    prevHash: e.hashChain.prevHash,
    contentHash: e.hashChain.eventHash,
    payloadVersion: e.header.payloadVersion,
    raw: false,
    encrypted: e.header.payloadEncryption !== undefined,
    tombstone: e.header.eventKind === RustKinds.TOMBSTONE,
    ...(e.batch === undefined ? {} : { batch: e.batch }),
  };
}

export function rustCoordinate(e: RustIndexEntry): Coordinate {
  // Validated during the scan; constructing again cannot fail for an indexed entry.
  return new Coordinate(e.entity, e.scope);
}

/**
 * The payload value: Rust stores `rmp_serde::to_vec_named(value)`, so it is decoded with the same msgpack
 * decoder our store uses (maps as objects, 64-bit integers as bigint, `bin` as bytes). Sealed payloads are
 * ciphertext: this reader holds no keyset, so it refuses rather than decode garbage.
 */
export function decodeRustPayload(e: RustIndexEntry, bytes: Uint8Array): unknown {
  if (e.header.payloadEncryption !== undefined) {
    throw new BatpakError(
      'ERR_ENCRYPTION_NOT_CONFIGURED',
      `event ${e.eventId} is sealed (crypto-shred) and this reader has no Rust keyset support; use getRaw() for the ciphertext`,
      { details: { eventId: e.eventId } },
    );
  }
  return decodePayload(bytes, e.eventId);
}
