// Seal header digest (format version 2): the frame fields a receipt cover does not bind — flags (all
// but tombstone), payload version, batch membership, encryption reference — folded into what a group's
// one signature covers, so none can change unseen while receipts keep their cover (INV-SEAL-HEADERS).

import { blake3 } from '../crypto/blake3.js';
import { EventFlags, type FrameHeaderFields } from '../segment/frame.js';
import { merkleNode } from './cover.js';

const HEADER_DOMAIN = new TextEncoder().encode('batpak.frame-header.v1\0');
const DIGEST_DOMAIN = new TextEncoder().encode('batpak.seal-headers.v1\0');

/** The frame fields a header leaf binds (an EventFrame satisfies it). */
export type HeaderFields = Pick<FrameHeaderFields, 'id' | 'globalSequence' | 'flags' | 'payloadVersion' | 'batch' | 'encryption'>;

function u64(dv: DataView, p: number, n: number): number {
  dv.setBigUint64(p, BigInt(n));
  return p + 8;
}

/**
 * `blake3("batpak.frame-header.v1" 00 ‖ id ‖ g u64be ‖ flags & ~tombstone u64be ‖ v u64be ‖ batch ‖ enc)`,
 * batch = `00` | `01 ‖ first u64be ‖ index u64be ‖ count u64be`, enc = `00` | `01 ‖ u32be len ‖ scope ‖
 * nonce ‖ generation u64be`. The tombstone bit is left out: compaction sets it, and its own signed
 * record is what makes it legitimate.
 */
export function headerLeaf(f: HeaderFields): Uint8Array {
  const enc = f.encryption;
  const size = 16 + 8 * 3 + 1 + (f.batch === undefined ? 0 : 24) + 1 + (enc === undefined ? 0 : 4 + enc.scope.length + enc.nonce.length + 8);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  out.set(f.id, 0);
  let p = u64(dv, 16, f.globalSequence);
  p = u64(dv, p, f.flags & ~EventFlags.TOMBSTONE);
  p = u64(dv, p, f.payloadVersion);
  if (f.batch === undefined) p++;
  else {
    out[p++] = 1;
    p = u64(dv, p, f.batch.first);
    p = u64(dv, p, f.batch.index);
    p = u64(dv, p, f.batch.count);
  }
  if (enc !== undefined) {
    out[p++] = 1;
    dv.setUint32(p, enc.scope.length);
    out.set(enc.scope, p + 4);
    p += 4 + enc.scope.length;
    out.set(enc.nonce, p);
    u64(dv, p + enc.nonce.length, enc.generation);
  }
  return blake3(HEADER_DOMAIN, out);
}

/** `blake3("batpak.seal-headers.v1" 00 ‖ u32be count ‖ leaf_0 ‖ … )` over the group in sequence order. */
export function headerDigest(leaves: readonly Uint8Array[]): Uint8Array {
  const body = new Uint8Array(4 + 32 * leaves.length);
  new DataView(body.buffer).setUint32(0, leaves.length);
  leaves.forEach((l, i) => body.set(l, 4 + 32 * i));
  return blake3(DIGEST_DOMAIN, body);
}

/**
 * The node a format-2 seal signs: `merkleNode(coversRoot, headerDigest)`. It is one level above the
 * covers' root, so a receipt's proof just gains the digest as its top sibling and verifies unchanged.
 */
export function signedRoot(coversRoot: Uint8Array, digest: Uint8Array | undefined): Uint8Array {
  return digest === undefined ? coversRoot : merkleNode(coversRoot, digest);
}
