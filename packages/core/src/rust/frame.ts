// One Rust frame: `u32be len | u32be crc32(body) | body`, body = Rust's FramePayload map (RUST-INTEROP.md § On-disk format).
// Invariant: a body is decoded only after its CRC matched; encodeRustFrameBody(decode(b)) reproduces b.

import { crc32 } from 'node:zlib';
import { cbytesArray, cmap, cnil, cstr, cstruct, decodeCanonicalAt, encodeCanonical, type CanonicalEntry, type CanonicalValue } from '../encoding/canonical.js';
import { RUST_FRAME_HEADER_BYTES, RUST_MAX_FRAME_BODY } from './format.js';
import { decodeRustHeader, rustHeaderValue, type RustEventHeader } from './header.js';
import { byteArrayAt, byteArrayOf, extensionsOf, field, mapHeaderAt, strOf, structOf, RustWireError, type RustStruct } from './wire.js';

export interface RustHashChain {
  readonly prevHash: Uint8Array;
  readonly eventHash: Uint8Array;
}

/** A decoded frame body: `mp{event: mp{header, payload, hash_chain}, entity, scope, receipt_extensions}`. */
export interface RustFrameBody {
  readonly header: RustEventHeader;
  /** The stored payload bytes exactly (ciphertext when sealed). */
  readonly payload: Uint8Array;
  /** nil only on batch BEGIN/COMMIT markers. */
  readonly hashChain: RustHashChain | undefined;
  readonly entity: string;
  readonly scope: string;
  readonly receiptExtensions: ReadonlyMap<string, Uint8Array>;
  /** Whether `receipt_extensions` was on the wire (serde defaults it to empty when absent). */
  readonly wireHasExtensions: boolean;
}

const TOLERANT = { allowNonCanonical: true } as const;

/**
 * Walks the struct (map) at `at`: fields named in `special` are handed their value offset and return its
 * end; every other field is decoded generically. Duplicate fields are refused, as serde does.
 */
function walkStruct(
  bytes: Uint8Array,
  at: number,
  path: string,
  special: Readonly<Record<string, (valueAt: number) => number>>,
): { fields: Map<string, CanonicalValue>; end: number } {
  const head = mapHeaderAt(bytes, at);
  if (head === undefined) throw new RustWireError(path, 'expected a struct (map)');
  const fields = new Map<string, CanonicalValue>();
  const seen = new Set<string>();
  let p = head.next;
  for (let i = 0; i < head.count; i++) {
    const key = decodeCanonicalAt(bytes, p, TOLERANT);
    if (key.value.t !== 'str') throw new RustWireError(path, `struct key is a ${key.value.t}, not a field name`);
    const name = key.value.v;
    if (seen.has(name)) throw new RustWireError(`${path}.${name}`, 'duplicate field');
    seen.add(name);
    const handler = Object.hasOwn(special, name) ? special[name] : undefined;
    if (handler !== undefined) {
      p = handler(key.end);
    } else {
      const v = decodeCanonicalAt(bytes, key.end, TOLERANT);
      fields.set(name, v.value);
      p = v.end;
    }
  }
  return { fields, end: p };
}

/** Decodes a CRC-checked body. Throws RustWireError (shape) or BatpakError ERR_INVALID_ARGUMENT (msgpack). */
export function decodeRustFrameBody(body: Uint8Array): RustFrameBody {
  // rmp-serde accepts any valid msgpack width, so the reader does too; duplicate fields are still refused.
  let payload: Uint8Array | undefined;
  let eventFields: Map<string, CanonicalValue> | undefined;
  const readPayload = (at: number): number => {
    const fast = byteArrayAt(body, at);
    if (fast !== undefined) {
      payload = fast.bytes;
      return fast.end;
    }
    const v = decodeCanonicalAt(body, at, TOLERANT);
    payload = byteArrayOf(v.value, 'frame.event.payload');
    return v.end;
  };
  const readEvent = (at: number): number => {
    const e = walkStruct(body, at, 'frame.event', { payload: readPayload });
    eventFields = e.fields;
    return e.end;
  };
  const root = walkStruct(body, 0, 'frame', { event: readEvent });
  if (root.end !== body.length) throw new RustWireError('frame', `${body.length - root.end} trailing bytes after the body`);
  if (eventFields === undefined) throw new RustWireError('frame.event', 'missing field');
  if (payload === undefined) throw new RustWireError('frame.event.payload', 'missing field');
  const event: RustStruct = eventFields;
  const chainValue = event.get('hash_chain');
  let hashChain: RustHashChain | undefined;
  if (chainValue !== undefined && chainValue.t !== 'nil') {
    const c = structOf(chainValue, 'frame.event.hash_chain');
    hashChain = {
      prevHash: byteArrayOf(field(c, 'prev_hash', 'frame.event.hash_chain'), 'frame.event.hash_chain.prev_hash', 32),
      eventHash: byteArrayOf(field(c, 'event_hash', 'frame.event.hash_chain'), 'frame.event.hash_chain.event_hash', 32),
    };
  }
  const ext = root.fields.get('receipt_extensions');
  return {
    header: decodeRustHeader(field(event, 'header', 'frame.event'), 'frame.event.header'),
    payload,
    hashChain,
    entity: strOf(field(root.fields, 'entity', 'frame'), 'frame.entity'),
    scope: strOf(field(root.fields, 'scope', 'frame'), 'frame.scope'),
    receiptExtensions: ext === undefined ? new Map() : extensionsOf(ext, 'frame.receipt_extensions'),
    wireHasExtensions: ext !== undefined,
  };
}

function utf8Order(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The canonical body bytes Rust writes for `f` (BTreeMap extensions in byte order). */
export function encodeRustFrameBody(f: RustFrameBody): Uint8Array {
  const event = cstruct([
    ['header', rustHeaderValue(f.header)],
    ['payload', cbytesArray(f.payload)],
    [
      'hash_chain',
      f.hashChain === undefined
        ? cnil()
        : cstruct([
            ['prev_hash', cbytesArray(f.hashChain.prevHash)],
            ['event_hash', cbytesArray(f.hashChain.eventHash)],
          ]),
    ],
  ]);
  const ext = [...f.receiptExtensions].sort(([a], [b]) => utf8Order(a, b));
  const root: [string, CanonicalValue][] = [
    ['event', event],
    ['entity', cstr(f.entity)],
    ['scope', cstr(f.scope)],
  ];
  if (f.wireHasExtensions || f.receiptExtensions.size > 0) root.push(['receipt_extensions', cmap(ext.map(([k, v]): CanonicalEntry => [cstr(k), cbytesArray(v)]))]);
  return encodeCanonical(cstruct(root));
}

/** A whole frame: length, CRC-32 of the body, body. */
export function rustFrameBytes(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(RUST_FRAME_HEADER_BYTES + body.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, body.length);
  dv.setUint32(4, crc32(body));
  out.set(body, RUST_FRAME_HEADER_BYTES);
  return out;
}

/** What is at a byte offset of a segment, judged only by the frame header and CRC. */
export type FrameProbe =
  | { readonly kind: 'frame'; readonly length: number; readonly body: Uint8Array }
  /** Fewer than 8 bytes left before `end`. */
  | { readonly kind: 'short-header' }
  /** Declared length 0: never written by Rust (a body always has event/entity/scope). */
  | { readonly kind: 'zero-length' }
  | { readonly kind: 'oversize'; readonly declared: number }
  /** The declared body runs past `end`. */
  | { readonly kind: 'past-end'; readonly declared: number }
  | { readonly kind: 'crc-mismatch'; readonly declared: number; readonly stored: number; readonly actual: number };

/** Reads the frame at `at` of `bytes`, never looking at or past `end`. */
export function probeFrame(bytes: Uint8Array, at: number, end: number): FrameProbe {
  if (end - at < RUST_FRAME_HEADER_BYTES) return { kind: 'short-header' };
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, RUST_FRAME_HEADER_BYTES);
  const declared = dv.getUint32(0);
  if (declared === 0) return { kind: 'zero-length' };
  if (declared > RUST_MAX_FRAME_BODY) return { kind: 'oversize', declared };
  if (at + RUST_FRAME_HEADER_BYTES + declared > end) return { kind: 'past-end', declared };
  const body = bytes.subarray(at + RUST_FRAME_HEADER_BYTES, at + RUST_FRAME_HEADER_BYTES + declared);
  const stored = dv.getUint32(4);
  const actual = crc32(body);
  if (stored !== actual) return { kind: 'crc-mismatch', declared, stored, actual };
  return { kind: 'frame', length: RUST_FRAME_HEADER_BYTES + declared, body };
}

/**
 * Rust's look-ahead resync (`crc_valid_frame_exists_after`): is there a CRC-valid frame starting at any
 * byte in [from, end)? True proves the damage before it is mid-stream, not a torn tail.
 */
export function crcValidFrameAfter(bytes: Uint8Array, from: number, end: number): number | undefined {
  for (let p = from; end - p >= RUST_FRAME_HEADER_BYTES; p++) {
    if (probeFrame(bytes, p, end).kind === 'frame') return p;
  }
  return undefined;
}

export function describeProbe(p: FrameProbe): string {
  switch (p.kind) {
    case 'frame':
      return 'valid frame';
    case 'short-header':
      return 'fewer than 8 bytes of frame header';
    case 'zero-length':
      return 'frame declares a zero-length body';
    case 'oversize':
      return `frame declares ${p.declared} bytes, more than the 256 MiB maximum`;
    case 'past-end':
      return `frame declares ${p.declared} bytes, running past the frame region`;
    case 'crc-mismatch':
      return `frame CRC mismatch (stored 0x${p.stored.toString(16).padStart(8, '0')}, computed 0x${p.actual.toString(16).padStart(8, '0')})`;
  }
}

export { RustWireError };
