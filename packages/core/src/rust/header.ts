// Rust batpak's EventHeader (RUST-INTEROP.md § On-disk format): decode from and encode to its canonical msgpack map.
// Invariant: 9-, 10- and 11-key headers all decode, and encodeCanonical(rustHeaderValue(decode(b))) is b.

import { cbin, cbytesArray, cint, cnil, cstruct, cuint, type CanonicalValue } from '../encoding/canonical.js';
import { byteArrayOf, field, i64Of, idOf, optional, structOf, u64Of, uintOf, type RustStruct } from './wire.js';

/** `position`: HLC wall clock plus the event's place in its (entity, lane) DAG. */
export interface RustPosition {
  readonly wallMs: bigint;
  /** Always 0 as Rust writes it (the HLC never uses its logical counter). */
  readonly counter: number;
  readonly depth: number;
  readonly lane: number;
  /** Per-(entity, lane) clock: 0 for the first event, +1 each append. */
  readonly sequence: number;
}

/** Present only on sealed (crypto-shred) events. */
export interface RustPayloadEncryption {
  readonly keyscopeId: Uint8Array;
  /** 24-byte XChaCha20 nonce. */
  readonly nonce: Uint8Array;
}

export interface RustEventHeader {
  /** The u128 id as its 16 big-endian bytes (the wire order). */
  readonly eventId: Uint8Array;
  readonly correlationId: Uint8Array;
  /** Absent (nil) when the event has no causation; Rust also treats an all-zero id as none. */
  readonly causationId: Uint8Array | undefined;
  /** Microseconds since the Unix epoch (i64) from the store clock at submission. */
  readonly timestampUs: bigint;
  readonly position: RustPosition;
  /** Byte length of the stored payload (for BATCH_BEGIN: the batch's item count). */
  readonly payloadSize: number;
  readonly eventKind: number;
  /** 0x01 requires-ack, 0x02 transactional, 0x08 replay. */
  readonly flags: number;
  /** Header copy of the content hash; 32 zero bytes when the header predates the field. */
  readonly contentHash: Uint8Array;
  /** 0 when absent (pre-versioning frames have 9 keys). */
  readonly payloadVersion: number;
  readonly payloadEncryption: RustPayloadEncryption | undefined;
  /** Which optional keys were on the wire, so re-encoding gives the same bytes. */
  readonly wire: { readonly contentHash: boolean; readonly payloadVersion: boolean };
}

function positionOf(v: CanonicalValue, path: string): RustPosition {
  const s = structOf(v, path);
  return {
    wallMs: u64Of(field(s, 'wall_ms', path), `${path}.wall_ms`),
    counter: uintOf(field(s, 'counter', path), 16, `${path}.counter`),
    depth: uintOf(field(s, 'depth', path), 32, `${path}.depth`),
    lane: uintOf(field(s, 'lane', path), 32, `${path}.lane`),
    sequence: uintOf(field(s, 'sequence', path), 32, `${path}.sequence`),
  };
}

function encryptionOf(v: CanonicalValue, path: string): RustPayloadEncryption {
  const s = structOf(v, path);
  return {
    keyscopeId: byteArrayOf(field(s, 'keyscope_id', path), `${path}.keyscope_id`),
    nonce: byteArrayOf(field(s, 'nonce', path), `${path}.nonce`, 24),
  };
}

/** Decodes a header map (already parsed); throws RustWireError naming the bad field. */
export function decodeRustHeader(value: CanonicalValue, path = 'header'): RustEventHeader {
  const s: RustStruct = structOf(value, path);
  const contentHash = optional(s, 'content_hash', path, (v, p) => byteArrayOf(v, p, 32));
  const payloadVersion = optional(s, 'payload_version', path, (v, p) => uintOf(v, 16, p));
  const causation = s.get('causation_id');
  return {
    eventId: idOf(field(s, 'event_id', path), `${path}.event_id`),
    correlationId: idOf(field(s, 'correlation_id', path), `${path}.correlation_id`),
    // causation_id is `Option<u128>` and serialized even when None, but serde also takes a missing key as None.
    causationId: causation === undefined || causation.t === 'nil' ? undefined : idOf(causation, `${path}.causation_id`),
    timestampUs: i64Of(field(s, 'timestamp_us', path), `${path}.timestamp_us`),
    position: positionOf(field(s, 'position', path), `${path}.position`),
    payloadSize: uintOf(field(s, 'payload_size', path), 32, `${path}.payload_size`),
    eventKind: uintOf(field(s, 'event_kind', path), 16, `${path}.event_kind`),
    flags: uintOf(field(s, 'flags', path), 8, `${path}.flags`),
    contentHash: contentHash ?? new Uint8Array(32),
    payloadVersion: payloadVersion ?? 0,
    payloadEncryption: optional(s, 'payload_encryption', path, encryptionOf),
    wire: { contentHash: contentHash !== undefined, payloadVersion: payloadVersion !== undefined },
  };
}

/** The canonical bytes Rust writes for this header (as a value, for embedding in a frame). */
export function rustHeaderValue(h: RustEventHeader): CanonicalValue {
  const fields: [string, CanonicalValue][] = [
    ['event_id', cbin(h.eventId)],
    ['correlation_id', cbin(h.correlationId)],
    ['causation_id', h.causationId === undefined ? cnil() : cbin(h.causationId)],
    ['timestamp_us', cint(h.timestampUs)],
    [
      'position',
      cstruct([
        ['wall_ms', cuint(h.position.wallMs)],
        ['counter', cuint(h.position.counter)],
        ['depth', cuint(h.position.depth)],
        ['lane', cuint(h.position.lane)],
        ['sequence', cuint(h.position.sequence)],
      ]),
    ],
    ['payload_size', cuint(h.payloadSize)],
    ['event_kind', cuint(h.eventKind)],
    ['flags', cuint(h.flags)],
  ];
  if (h.wire.contentHash) fields.push(['content_hash', cbytesArray(h.contentHash)]);
  if (h.wire.payloadVersion) fields.push(['payload_version', cuint(h.payloadVersion)]);
  if (h.payloadEncryption !== undefined) {
    fields.push([
      'payload_encryption',
      cstruct([
        ['keyscope_id', cbytesArray(h.payloadEncryption.keyscopeId)],
        ['nonce', cbytesArray(h.payloadEncryption.nonce)],
      ]),
    ]);
  }
  return cstruct(fields);
}
