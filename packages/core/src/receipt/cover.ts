// The receipt cover: the exact bytes a receipt signature commits to (FORMAT.md § Receipts), with a
// domain-separation prefix and version so the bytes can never be confused with any other message.

import { blake3 } from '../crypto/blake3.js';
import { blake3ShortInto, SHORT_MAX } from '../crypto/blake3-short.js';
import { BatpakError } from '../errors.js';
import { fromHex } from '../encoding/hex.js';
import { Scratch } from '../encoding/scratch.js';
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

const MAX_U64 = (1n << 64n) - 1n;

function checkU64(n: bigint): void {
  if (n < 0n || n > MAX_U64) throw new BatpakError('ERR_INVALID_RECEIPT', 'a receipt counter is outside u64');
}

/** Byte-wise order of UTF-8 keys (what Rust's BTreeMap<String, _> does). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/**
 * cover = "batpak.receipt.v1\0" ‖ eventId(16) ‖ globalSequence u64be ‖ entitySequence u64be ‖
 *         kind u16be ‖ committedAt u64be ‖ u32be len ‖ entity ‖ u32be len ‖ scope ‖ prevHash(32) ‖
 *         contentHash(32) ‖ u32be count ‖ for each extension, keys byte-sorted: u32be len ‖ key ‖ u32be len ‖ value
 *
 * Written into one buffer sized up front: it runs once per event of every signed commit group.
 * `idBytes` may be passed to skip parsing the hex id.
 */
export function receiptCover(r: CoverFields, idBytes?: Uint8Array): Uint8Array {
  checkU64(r.globalSequence);
  checkU64(r.entitySequence);
  checkU64(r.committedAt);
  const id = idBytes ?? fromHex(r.eventId, 'eventId');
  const entity = utf8.encode(r.coordinate.entity);
  const scope = utf8.encode(r.coordinate.scope);
  const ext = r.extensions === undefined || r.extensions.size === 0 ? [] : [...r.extensions.entries()].sort(([a], [b]) => byteOrder(a, b));
  const extKeys = ext.map(([k]) => utf8.encode(k));
  let size = COVER_DOMAIN.length + 16 + 8 + 8 + 2 + 8 + 4 + entity.length + 4 + scope.length + 32 + 32 + 4;
  ext.forEach(([, v], i) => (size += 8 + extKeys[i]!.length + v.length));
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  let p = 0;
  out.set(COVER_DOMAIN, p);
  p += COVER_DOMAIN.length;
  out.set(id, p);
  p += 16;
  dv.setBigUint64(p, r.globalSequence);
  p += 8;
  dv.setBigUint64(p, r.entitySequence);
  p += 8;
  dv.setUint16(p, kindToRaw(r.kind));
  p += 2;
  dv.setBigUint64(p, r.committedAt);
  p += 8;
  dv.setUint32(p, entity.length);
  p += 4;
  out.set(entity, p);
  p += entity.length;
  dv.setUint32(p, scope.length);
  p += 4;
  out.set(scope, p);
  p += scope.length;
  out.set(r.prevHash, p);
  p += 32;
  out.set(r.contentHash, p);
  p += 32;
  dv.setUint32(p, ext.length);
  p += 4;
  ext.forEach(([, v], i) => {
    const k = extKeys[i]!;
    dv.setUint32(p, k.length);
    p += 4;
    out.set(k, p);
    p += k.length;
    dv.setUint32(p, v.length);
    p += 4;
    out.set(v, p);
    p += v.length;
  });
  return out;
}

/** A committed event's cover fields as the commit path holds them: plain numbers, raw kind, id bytes. */
export interface CoverParts {
  readonly idBytes: Uint8Array;
  readonly globalSequence: number;
  readonly entitySequence: number;
  readonly kind: number;
  readonly committedAt: number;
  readonly entity: string;
  readonly scope: string;
  readonly prevHash: Uint8Array;
  readonly contentHash: Uint8Array;
  readonly extensions: ReadonlyMap<string, Uint8Array> | undefined;
}

// Coordinates repeat across a store's events: their UTF-8 bytes are kept for the next cover.
const CACHED_STRINGS = 4096;
const utf8Cache = new Map<string, Uint8Array>();
function utf8Of(s: string): Uint8Array {
  let b = utf8Cache.get(s);
  if (b === undefined) {
    b = utf8.encode(s);
    if (utf8Cache.size >= CACHED_STRINGS) utf8Cache.clear();
    utf8Cache.set(s, b);
  }
  return b;
}

/** The cover of `c` through receiptCover when it has extensions; undefined when the fast path writes it. */
function extendedCover(c: CoverParts): Uint8Array | undefined {
  const extensions = c.extensions;
  if (extensions === undefined || extensions.size === 0) return undefined;
  return receiptCover(
    {
      eventId: '',
      globalSequence: BigInt(c.globalSequence),
      entitySequence: BigInt(c.entitySequence),
      kind: { category: c.kind >>> 12, typeId: c.kind & 0xfff },
      coordinate: { entity: c.entity, scope: c.scope },
      contentHash: c.contentHash,
      prevHash: c.prevHash,
      committedAt: BigInt(c.committedAt),
      extensions,
    },
    c.idBytes,
  );
}

// A cover without extensions is laid out here, reused: it is built once per event of every signed group. It starts
// at byte 1, after the leaf tag (byte 0 stays 0x00), so its leaf is hashed where it lies. Every byte from 1 up to
// the cover's end is written each time.
const COVER_AT = 1;
const scratch = new Scratch(256);

/** Writes the cover of `c` (which has no extensions) at `scratch.bytes[COVER_AT…]`; returns its length. */
function writeCover(c: CoverParts): number {
  const entity = utf8Of(c.entity);
  const scope = utf8Of(c.scope);
  const size = coverSize(entity, scope);
  scratch.fit(COVER_AT + size);
  scratch.bytes[0] = LEAF_TAG[0]!;
  layCover(c, entity, scope, scratch.bytes, scratch.view, COVER_AT);
  return size;
}

/** Bytes of a cover without extensions, whose coordinate is `entity` and `scope` (UTF-8). */
function coverSize(entity: Uint8Array, scope: Uint8Array): number {
  return COVER_DOMAIN.length + 16 + 8 + 8 + 2 + 8 + 4 + entity.length + 4 + scope.length + 32 + 32 + 4;
}

/** Writes every byte of the cover of `c` (no extensions) from `out[p]` on. */
function layCover(c: CoverParts, entity: Uint8Array, scope: Uint8Array, out: Uint8Array, dv: DataView, p: number): void {
  out.set(COVER_DOMAIN, p);
  p += COVER_DOMAIN.length;
  out.set(c.idBytes, p);
  p += 16;
  p = u64be(dv, p, c.globalSequence);
  p = u64be(dv, p, c.entitySequence);
  dv.setUint16(p, c.kind);
  p += 2;
  p = u64be(dv, p, c.committedAt);
  dv.setUint32(p, entity.length);
  out.set(entity, p + 4);
  p += 4 + entity.length;
  dv.setUint32(p, scope.length);
  out.set(scope, p + 4);
  p += 4 + scope.length;
  out.set(c.prevHash, p);
  out.set(c.contentHash, p + 32);
  dv.setUint32(p + 64, 0); // no extensions
}

/** Room to lay out inputs to be hashed later: `take(size)` returns where `size` bytes start, and may replace `bytes` and `view`. */
export interface LeafArena {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  take(size: number): number;
}

/**
 * Lays out the input of `c`'s leaf, `0x00 ‖ cover`, in `arena` and returns its length; -1 (nothing laid out)
 * when `c` has extensions, whose leaf coverLeafOf hashes. For a group's leaves hashed four at a time (group-hash.ts).
 */
export function coverLeafInputIn(c: CoverParts, arena: LeafArena): number {
  if (c.extensions !== undefined && c.extensions.size > 0) return -1;
  const entity = utf8Of(c.entity);
  const scope = utf8Of(c.scope);
  const size = 1 + coverSize(entity, scope);
  const at = arena.take(size);
  arena.bytes[at] = LEAF_TAG[0]!;
  layCover(c, entity, scope, arena.bytes, arena.view, at + 1);
  return size;
}

/**
 * The same bytes as `receiptCover`, from the commit path's numbers (safe integers, so no u64 check and
 * no BigInt). Extensions take the general path.
 */
export function receiptCoverOf(c: CoverParts): Uint8Array {
  const extended = extendedCover(c);
  if (extended !== undefined) return extended;
  const size = writeCover(c); // before reading scratch.bytes: writing may have grown it
  return scratch.bytes.slice(COVER_AT, COVER_AT + size);
}

/**
 * `coverLeaf(receiptCoverOf(c))` without the intermediate cover: once per event of every signed group, so a
 * leaf of one BLAKE3 chunk (any coordinate up to ~890 bytes) is hashed in place by blake3-short.ts.
 */
export function coverLeafOf(c: CoverParts): Uint8Array {
  const extended = extendedCover(c);
  if (extended !== undefined) return coverLeaf(extended);
  const leaf = new Uint8Array(32);
  const size = writeCover(c); // before reading scratch.bytes: writing may have grown it
  if (COVER_AT + size <= SHORT_MAX) blake3ShortInto(scratch.view, 0, COVER_AT + size, leaf, 0);
  else leaf.set(blake3(scratch.bytes.subarray(0, COVER_AT + size)));
  return leaf;
}

function u64be(dv: DataView, p: number, n: number): number {
  dv.setUint32(p, Math.floor(n / 0x1_0000_0000));
  dv.setUint32(p + 4, n >>> 0);
  return p + 8;
}

/** Merkle leaf of a cover: blake3(0x00 ‖ cover). */
export function coverLeaf(cover: Uint8Array): Uint8Array {
  return blake3(LEAF_TAG, cover);
}

const LEAF_TAG = new Uint8Array([0x00]);
const NODE_TAG = new Uint8Array([0x01]);
/** Stands in for a missing right sibling at any level. */
export const EMPTY_NODE = new Uint8Array(32);

// A node's input, 0x01 ‖ left ‖ right, laid out here and hashed in place (one short BLAKE3 chunk).
const node = new Uint8Array(65);
const nodeView = new DataView(node.buffer);

/** blake3(0x01 ‖ left ‖ right): a Merkle node over two 32-byte children. */
export function merkleNode(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) return blake3(NODE_TAG, left, right);
  node[0] = NODE_TAG[0]!;
  node.set(left, 1);
  node.set(right, 33);
  const out = new Uint8Array(32);
  blake3ShortInto(nodeView, 0, 65, out, 0);
  return out;
}

/** The message a group signature signs: "batpak.group.v1\0" ‖ root. */
export function groupMessage(root: Uint8Array): Uint8Array {
  // Laid out by hand: Buffer.concat and a copy into a plain Uint8Array cost more, once per signed group.
  const message = new Uint8Array(GROUP_DOMAIN.length + root.length);
  message.set(GROUP_DOMAIN);
  message.set(root, GROUP_DOMAIN.length);
  return message;
}

/** Key id of a public key: lowercase hex blake3(publicKey). */
export function keyIdOf(publicKey: Uint8Array): string {
  return Buffer.from(blake3(publicKey)).toString('hex');
}
