// The receipt cover: the exact bytes a receipt signature commits to (FORMAT.md § Receipts), with a
// domain-separation prefix and version so the bytes can never be confused with any other message.

import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { fromHex } from '../encoding/hex.js';
import { kindToRaw } from '../kind.js';
import type { AppendReceipt } from '../types.js';

const utf8 = new TextEncoder();
export const COVER_DOMAIN = utf8.encode('batpak.receipt.v1\0');
export const GROUP_DOMAIN = utf8.encode('batpak.group.v1\0');

/** The fields a cover is built from: every receipt field except the signature material. */
export type CoverFields = Pick<
  AppendReceipt,
  'eventId' | 'globalSequence' | 'entitySequence' | 'kind' | 'coordinate' | 'contentHash' | 'prevHash' | 'committedAt' | 'extensions'
>;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function u64(n: bigint): Uint8Array {
  if (n < 0n || n >= 1n << 64n) throw new BatpakError('ERR_INVALID_RECEIPT', 'a receipt counter is outside u64');
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return b;
}

function lengthPrefixed(s: Uint8Array): Uint8Array[] {
  return [u32(s.length), s];
}

/** Byte-wise order of UTF-8 keys (what Rust's BTreeMap<String, _> does). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/**
 * cover = "batpak.receipt.v1\0" ‖ eventId(16) ‖ globalSequence u64be ‖ entitySequence u64be ‖
 *         kind u16be ‖ committedAt u64be ‖ u32be len ‖ entity ‖ u32be len ‖ scope ‖ prevHash(32) ‖
 *         contentHash(32) ‖ u32be count ‖ for each extension, keys byte-sorted: u32be len ‖ key ‖ u32be len ‖ value
 */
export function receiptCover(r: CoverFields): Uint8Array {
  const kind = new Uint8Array(2);
  new DataView(kind.buffer).setUint16(0, kindToRaw(r.kind));
  const parts: Uint8Array[] = [
    COVER_DOMAIN,
    fromHex(r.eventId, 'eventId'),
    u64(r.globalSequence),
    u64(r.entitySequence),
    kind,
    u64(r.committedAt),
    ...lengthPrefixed(utf8.encode(r.coordinate.entity)),
    ...lengthPrefixed(utf8.encode(r.coordinate.scope)),
    r.prevHash,
    r.contentHash,
  ];
  const ext = r.extensions === undefined ? [] : [...r.extensions.entries()].sort(([a], [b]) => byteOrder(a, b));
  parts.push(u32(ext.length));
  for (const [k, v] of ext) parts.push(...lengthPrefixed(utf8.encode(k)), ...lengthPrefixed(v));
  return new Uint8Array(Buffer.concat(parts));
}

/** Merkle leaf of a cover: blake3(0x00 ‖ cover). */
export function coverLeaf(cover: Uint8Array): Uint8Array {
  return blake3(LEAF_TAG, cover);
}

const LEAF_TAG = new Uint8Array([0x00]);
const NODE_TAG = new Uint8Array([0x01]);
/** Stands in for a missing right sibling at any level. */
export const EMPTY_NODE = new Uint8Array(32);

export function merkleNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  return blake3(NODE_TAG, left, right);
}

/** The message a group signature signs: "batpak.group.v1\0" ‖ root. */
export function groupMessage(root: Uint8Array): Uint8Array {
  return new Uint8Array(Buffer.concat([GROUP_DOMAIN, root]));
}

/** Key id of a public key: lowercase hex blake3(publicKey). */
export function keyIdOf(publicKey: Uint8Array): string {
  return Buffer.from(blake3(publicKey)).toString('hex');
}
