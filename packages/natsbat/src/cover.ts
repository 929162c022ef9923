// Receipt cover, Merkle group and group message exactly as FORMAT.md § Receipts specifies them, so a
// receipt natsbat signs verifies with core's verifyReceiptClaim (INV-NATSBAT-RECEIPT-COVER).

import { blake3, toHex, type AppendReceipt, type GroupProof } from '@batpak/core';

const utf8 = new TextEncoder();
const COVER_DOMAIN = utf8.encode('batpak.receipt.v1\0');
const GROUP_DOMAIN = utf8.encode('batpak.group.v1\0');
const LEAF_TAG = Uint8Array.of(0x00);
const NODE_TAG = Uint8Array.of(0x01);
/** Stands in for a missing right sibling at any level. */
const EMPTY_NODE = new Uint8Array(32);

/** Every receipt field a signature commits to (all but the signature material). */
export type CoverFields = Omit<AppendReceipt, 'signature' | 'keyId' | 'groupProof'>;

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
}

function u64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n);
  return b;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Byte-wise order of UTF-8 keys (Rust's BTreeMap<String, _> order, which the cover uses). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/**
 * cover = "batpak.receipt.v1\0" ‖ eventId(16) ‖ globalSequence u64be ‖ entitySequence u64be ‖ kind u16be ‖
 *         committedAt u64be ‖ u32be len ‖ entity ‖ u32be len ‖ scope ‖ prevHash ‖ contentHash ‖
 *         u32be count ‖ per extension, keys byte-sorted: u32be len ‖ key ‖ u32be len ‖ value
 */
export function receiptCover(r: CoverFields): Uint8Array {
  const kind = new Uint8Array(2);
  new DataView(kind.buffer).setUint16(0, ((r.kind.category & 0xf) << 12) | (r.kind.typeId & 0xfff));
  const entity = utf8.encode(r.coordinate.entity);
  const scope = utf8.encode(r.coordinate.scope);
  const parts: Uint8Array[] = [
    COVER_DOMAIN,
    Uint8Array.from(Buffer.from(r.eventId, 'hex')),
    u64(r.globalSequence),
    u64(r.entitySequence),
    kind,
    u64(r.committedAt),
    u32(entity.length),
    entity,
    u32(scope.length),
    scope,
    r.prevHash,
    r.contentHash,
  ];
  const ext = r.extensions === undefined ? [] : [...r.extensions].sort(([a], [b]) => byteOrder(a, b));
  parts.push(u32(ext.length));
  for (const [k, v] of ext) {
    const key = utf8.encode(k);
    parts.push(u32(key.length), key, u32(v.length), v);
  }
  return concat(parts);
}

/** One signature over many covers: the Merkle root, and a proof per cover. */
export interface SignedGroupTree {
  readonly root: Uint8Array;
  proof(index: number): GroupProof;
}

/** Leaves are blake3(00 ‖ cover); a node is blake3(01 ‖ left ‖ right); an odd node pairs with 32 zeros. */
export function merkleTree(covers: readonly Uint8Array[]): SignedGroupTree {
  if (covers.length === 0) throw new RangeError('a Merkle tree needs at least one cover');
  const levels: Uint8Array[][] = [covers.map((c) => blake3(LEAF_TAG, c))];
  for (let below = levels[0]!; below.length > 1; below = levels[levels.length - 1]!) {
    const up: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += 2) up.push(blake3(NODE_TAG, below[i]!, below[i + 1] ?? EMPTY_NODE));
    levels.push(up);
  }
  return {
    root: levels[levels.length - 1]![0]!,
    proof(index: number): GroupProof {
      const siblings: Uint8Array[] = [];
      let i = index;
      for (let l = 0; l < levels.length - 1; l++) {
        siblings.push(levels[l]![i ^ 1] ?? EMPTY_NODE);
        i >>= 1;
      }
      return { index, siblings };
    },
  };
}

/** What a group signature signs: "batpak.group.v1\0" ‖ root. */
export function groupMessage(root: Uint8Array): Uint8Array {
  return concat([GROUP_DOMAIN, root]);
}

/** Key id of a public key: lowercase hex blake3(publicKey). */
export function keyIdOf(publicKey: Uint8Array): string {
  return toHex(blake3(publicKey));
}
