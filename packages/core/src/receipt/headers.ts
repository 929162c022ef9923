// Seal header digest (format version 2): the frame fields a receipt cover does not bind — flags (all
// but tombstone), payload version, batch membership, encryption reference — folded into what a group's
// one signature covers, so none can change unseen while receipts keep their cover (INV-SEAL-HEADERS).

import { blake3, blake3PrefixedInto } from '../crypto/blake3.js';
import { blake3ShortInto, SHORT_MAX } from '../crypto/blake3-short.js';
import { Scratch } from '../encoding/scratch.js';
import { EventFlags, type FrameHeaderFields } from '../segment/frame.js';
import { merkleNode, type LeafArena } from './cover.js';

export const HEADER_DOMAIN = new TextEncoder().encode('batpak.frame-header.v1\0');
export const DIGEST_DOMAIN = new TextEncoder().encode('batpak.seal-headers.v1\0');

/** The frame fields a header leaf binds (an EventFrame satisfies it). */
export type HeaderFields = Pick<FrameHeaderFields, 'id' | 'globalSequence' | 'flags' | 'payloadVersion' | 'batch' | 'encryption'>;

// A leaf's input (domain, then fields) is laid out here and hashed in place, reused: a leaf is built once per
// event of every signed group. Every byte of a leaf is written each time (no zero is left to a fresh buffer).
const scratch = new Scratch(128);
const FIELDS_AT = HEADER_DOMAIN.length;

/** `n` u64be. Frame fields are safe non-negative integers (the frame decoder refuses others): two u32 halves. */
function u64(view: DataView, p: number, n: number): number {
  view.setUint32(p, Math.floor(n / 0x1_0000_0000));
  view.setUint32(p + 4, n >>> 0);
  return p + 8;
}

/**
 * `blake3("batpak.frame-header.v1" 00 ‖ id ‖ g u64be ‖ flags & ~tombstone u64be ‖ v u64be ‖ batch ‖ enc)`,
 * batch = `00` | `01 ‖ first u64be ‖ index u64be ‖ count u64be`, enc = `00` | `01 ‖ u32be len ‖ scope ‖
 * nonce ‖ generation u64be`, written to `out[at, at + 32)`. The tombstone bit is left out: compaction sets
 * it, and its own signed record is what makes it legitimate.
 */
export function headerLeafInto(f: HeaderFields, out: Uint8Array, at: number): void {
  const size = fieldsSize(f);
  scratch.fit(FIELDS_AT + size);
  layHeaderLeafInput(f, scratch.bytes, scratch.view, 0);
  if (FIELDS_AT + size <= SHORT_MAX) blake3ShortInto(scratch.view, 0, FIELDS_AT + size, out, at);
  else blake3PrefixedInto(HEADER_DOMAIN, scratch.bytes.subarray(FIELDS_AT), size, out, at);
}

/** Bytes of `f`'s fields in its leaf input (after the domain). */
function fieldsSize(f: HeaderFields): number {
  const enc = f.encryption;
  return 16 + 8 * 3 + 1 + (f.batch === undefined ? 0 : 24) + 1 + (enc === undefined ? 0 : 4 + enc.scope.length + enc.nonce.length + 8);
}

/** Writes every byte of `f`'s leaf input (domain, then fields) from `fields[at]` on. */
function layHeaderLeafInput(f: HeaderFields, fields: Uint8Array, view: DataView, at: number): void {
  const enc = f.encryption;
  fields.set(HEADER_DOMAIN, at);
  fields.set(f.id, at + FIELDS_AT);
  let p = u64(view, at + FIELDS_AT + 16, f.globalSequence);
  p = u64(view, p, f.flags & ~EventFlags.TOMBSTONE);
  p = u64(view, p, f.payloadVersion);
  if (f.batch === undefined) fields[p++] = 0;
  else {
    fields[p++] = 1;
    p = u64(view, p, f.batch.first);
    p = u64(view, p, f.batch.index);
    p = u64(view, p, f.batch.count);
  }
  if (enc === undefined) fields[p] = 0;
  else {
    fields[p++] = 1;
    view.setUint32(p, enc.scope.length);
    fields.set(enc.scope, p + 4);
    p += 4 + enc.scope.length;
    fields.set(enc.nonce, p);
    u64(view, p + enc.nonce.length, enc.generation);
  }
}

/** Lays out `f`'s leaf input (headerLeafInto's) in `arena` and returns its length: for a group's leaves hashed four at a time. */
export function headerLeafInputIn(f: HeaderFields, arena: LeafArena): number {
  const size = FIELDS_AT + fieldsSize(f);
  const at = arena.take(size); // first: taking room may replace arena.bytes
  layHeaderLeafInput(f, arena.bytes, arena.view, at);
  return size;
}

/** The header leaf of `f` (see headerLeafInto), as a fresh 32-byte array. */
export function headerLeaf(f: HeaderFields): Uint8Array {
  const leaf = new Uint8Array(32);
  headerLeafInto(f, leaf, 0);
  return leaf;
}

/** A digest body for `count` leaves: the commit path writes leaf i at `4 + 32 * i` (headerLeafInto), then hashes it. */
export function headerDigestBody(count: number): Uint8Array {
  const body = new Uint8Array(4 + 32 * count);
  new DataView(body.buffer).setUint32(0, count);
  return body;
}

/** The header digest of a filled body from headerDigestBody. */
export function headerDigestOfBody(body: Uint8Array): Uint8Array {
  return blake3(DIGEST_DOMAIN, body);
}

/** `blake3("batpak.seal-headers.v1" 00 ‖ u32be count ‖ leaf_0 ‖ … )` over the group in sequence order. */
export function headerDigest(leaves: readonly Uint8Array[]): Uint8Array {
  const body = headerDigestBody(leaves.length);
  leaves.forEach((l, i) => body.set(l, 4 + 32 * i));
  return headerDigestOfBody(body);
}

/**
 * The node a format-2 seal signs: `merkleNode(coversRoot, headerDigest)`. It is one level above the
 * covers' root, so a receipt's proof just gains the digest as its top sibling and verifies unchanged.
 */
export function signedRoot(coversRoot: Uint8Array, digest: Uint8Array | undefined): Uint8Array {
  return digest === undefined ? coversRoot : merkleNode(coversRoot, digest);
}
