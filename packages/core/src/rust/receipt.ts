// Rust batpak's receipt cover, signature and verdicts (RUST-INTEROP.md § Receipts), alongside our own cover v1.
// Invariant: the cover bytes are Rust's exactly, so Rust's receipts verify here and signRustReceipt's in Rust.

import { validateCoordinate } from '../coordinate.js';
import { blake3 } from '../crypto/blake3.js';
import { Ed25519Signer, verify as ed25519Verify } from '../crypto/ed25519.js';
import { BatpakError } from '../errors.js';
import { encodeCoordinateCanonical, encodeStringBytesMapCanonical } from '../encoding/canonical.js';
import { fromHex, toHex } from '../encoding/hex.js';
import { kindToRaw, type EventKind } from '../kind.js';
import type { ReceiptSigner } from '../receipt/sign.js';
import type { ReceiptVerdict } from '../receipt/verify.js';

/** Rust's cover version byte (the first byte of every cover). */
export const RUST_COVER_VERSION = 0x01;

/** The fields Rust's cover binds: everything a receipt says about its event, nothing about disk position. */
export interface RustReceiptFields {
  /** 32 lowercase hex characters: the u128 id in big-endian, as Rust prints it (`event:<hex>`). */
  readonly eventId: string;
  /** Rust's 0-based global sequence. */
  readonly globalSequence: bigint;
  readonly coordinate: { readonly entity: string; readonly scope: string };
  readonly kind: EventKind;
  /** 32 bytes; zeros for the first event of its (entity, lane). */
  readonly prevHash: Uint8Array;
  /** 32 bytes: blake3 of the stored payload. */
  readonly contentHash: Uint8Array;
  /** Receipt extensions (`ns.field` keys); absent = empty. */
  readonly extensions?: ReadonlyMap<string, Uint8Array>;
}

/**
 * A receipt as Rust's `verify_receipt_claim` takes it (ReceiptClaim plus coordinate, kind and prev_hash).
 * `keyId` absent or all zeros is Rust's unsigned sentinel.
 */
export interface RustReceiptClaim extends RustReceiptFields {
  /** 64 lowercase hex characters: blake3 of the signing public key. */
  readonly keyId?: string;
  /** 64-byte Ed25519 signature over blake3(cover). */
  readonly signature?: Uint8Array;
}

const ZERO_KEY_ID = '0'.repeat(64);
const U64 = 1n << 64n;

/**
 * Rust's ExtensionKey: ASCII, 1..=256 chars, exactly one `.` with non-empty parts on both sides. Any ASCII
 * byte counts, control characters included (`ns.f\t` is a key Rust accepts), so a receipt carrying one verifies.
 */
export function isRustExtensionKey(key: string): boolean {
  if (key.length < 1 || key.length > 256 || !/^[\x00-\x7f]+$/.test(key)) return false;
  const parts = key.split('.');
  return parts.length === 2 && parts[0]!.length > 0 && parts[1]!.length > 0;
}

/** The first field of `f` that cannot be put in a cover, or undefined. */
function badField(f: RustReceiptFields): string | undefined {
  if (typeof f.eventId !== 'string' || !/^[0-9a-f]{32}$/.test(f.eventId)) return 'eventId: must be 32 lowercase hex characters';
  if (typeof f.globalSequence !== 'bigint' || f.globalSequence < 0n || f.globalSequence >= U64) return 'globalSequence: must be a u64 bigint';
  const c = f.coordinate as { entity?: unknown; scope?: unknown } | undefined;
  if (typeof c !== 'object' || c === null || typeof c.entity !== 'string' || typeof c.scope !== 'string') return 'coordinate: malformed';
  // Rust cannot build a Coordinate that fails these rules, so no Rust receipt can carry one.
  try {
    validateCoordinate(c.entity, c.scope);
  } catch (err) {
    return `coordinate: ${(err as Error).message}`;
  }
  const k = f.kind as { category?: unknown; typeId?: unknown } | undefined;
  if (typeof k !== 'object' || k === null || !Number.isInteger(k.category) || !Number.isInteger(k.typeId)) return 'kind: malformed';
  if ((k.category as number) < 0 || (k.category as number) > 15 || (k.typeId as number) < 0 || (k.typeId as number) > 0xfff) return 'kind: out of range';
  if (!(f.prevHash instanceof Uint8Array) || f.prevHash.length !== 32) return 'prevHash: must be 32 bytes';
  if (!(f.contentHash instanceof Uint8Array) || f.contentHash.length !== 32) return 'contentHash: must be 32 bytes';
  if (f.extensions !== undefined) {
    if (!(f.extensions instanceof Map)) return 'extensions: must be a Map';
    for (const [key, v] of f.extensions) {
      if (typeof key !== 'string' || !isRustExtensionKey(key)) return `extensions: ${JSON.stringify(key)} is not a valid extension key (ns.field)`;
      if (!(v instanceof Uint8Array)) return `extensions: value of ${key} is not bytes`;
    }
  }
  return undefined;
}

function littleEndian(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i]!;
  return out;
}

/**
 * `0x01 | event_id u128le | global_sequence u64le | mp{entity, scope} | kind u16le | prev_hash | content_hash |
 * mp(extensions)`. Throws ERR_INVALID_RECEIPT naming the field that cannot be encoded.
 */
export function rustReceiptCover(f: RustReceiptFields): Uint8Array {
  const bad = badField(f);
  if (bad !== undefined) throw new BatpakError('ERR_INVALID_RECEIPT', `Rust receipt cover: ${bad}`, { details: { field: bad.split(':')[0]! } });
  const coord = encodeCoordinateCanonical(f.coordinate.entity, f.coordinate.scope);
  const ext = encodeStringBytesMapCanonical(f.extensions ?? new Map());
  const out = new Uint8Array(1 + 16 + 8 + coord.length + 2 + 32 + 32 + ext.length);
  const dv = new DataView(out.buffer);
  let p = 0;
  out[p++] = RUST_COVER_VERSION;
  // The wire carries ids big-endian; the cover hashes the u128 in little-endian.
  out.set(littleEndian(fromHex(f.eventId, 'eventId')), p);
  p += 16;
  dv.setBigUint64(p, f.globalSequence, true);
  p += 8;
  out.set(coord, p);
  p += coord.length;
  dv.setUint16(p, kindToRaw(f.kind), true);
  p += 2;
  out.set(f.prevHash, p);
  p += 32;
  out.set(f.contentHash, p);
  p += 32;
  out.set(ext, p);
  return out;
}

/** The 32 bytes Rust signs: blake3(cover). */
export function rustReceiptDigest(f: RustReceiptFields): Uint8Array {
  return blake3(rustReceiptCover(f));
}

/** Rust's key_id: blake3 of the 32-byte Ed25519 public key, lowercase hex. */
export function rustKeyId(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw BatpakError.invalidArgument('publicKey must be 32 bytes', { field: 'publicKey' });
  }
  return toHex(blake3(publicKey));
}

/** Signs `fields` as Rust batpak would: Ed25519 (RFC 8032) over blake3(cover), key_id = blake3(public key). */
export function signRustReceipt(fields: RustReceiptFields, signer: Uint8Array | ReceiptSigner): RustReceiptClaim {
  const s: ReceiptSigner = signer instanceof Uint8Array ? new Ed25519Signer(signer) : signer;
  const digest = rustReceiptDigest(fields);
  let signature: Uint8Array;
  try {
    signature = s.sign(digest);
  } catch (err) {
    if (err instanceof BatpakError) throw err;
    // Not signerFailed(): that renders a non-Error throw with String(err); this message has always read
    // `.message` (undefined for a thrown string), and callers may match on it.
    throw new BatpakError('ERR_SIGNING_FAILED', `the receipt signer failed: ${(err as Error).message}`, { cause: err });
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw BatpakError.badSignature('the receipt signer');
  }
  return { ...fields, keyId: rustKeyId(s.publicKey), signature };
}

const invalid = (reason: string): ReceiptVerdict => ({ status: 'invalid', reason });

/** `field: why` for the first malformed field of a claim, or undefined when it is well-formed. */
export function rustClaimProblem(claim: unknown): string | undefined {
  if (typeof claim !== 'object' || claim === null) return 'receipt: malformed';
  const c = claim as RustReceiptClaim;
  const bad = badField(c);
  if (bad !== undefined) return bad;
  if (c.keyId !== undefined && (typeof c.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(c.keyId))) return 'keyId: must be 64 lowercase hex characters';
  if (c.signature !== undefined && (!(c.signature instanceof Uint8Array) || c.signature.length !== 64)) return 'signature: must be 64 bytes';
  return undefined;
}

/**
 * Verifies a Rust receipt with no store, with Rust's decision table (RUST-INTEROP.md § Receipts) in our verdict words:
 * unsigned + zero key id + no keys → 'unsigned-accepted'; unsigned with keys → invalid; a non-zero key id
 * without signature, a signature with a zero key id, an unknown key id or a bad signature → invalid.
 */
export function verifyRustReceiptClaim(claim: RustReceiptClaim, publicKeys: readonly Uint8Array[]): ReceiptVerdict {
  const bad = rustClaimProblem(claim);
  if (bad !== undefined) return invalid(bad);
  for (const k of publicKeys) if (!(k instanceof Uint8Array) || k.length !== 32) return invalid('publicKeys: each key must be 32 bytes');
  const keyId = claim.keyId ?? ZERO_KEY_ID;
  const zeroKey = keyId === ZERO_KEY_ID;
  if (claim.signature === undefined) {
    if (!zeroKey) return invalid('signature: missing, but the keyId is not the unsigned sentinel');
    return publicKeys.length === 0 ? { status: 'unsigned-accepted' } : invalid('signature: unsigned receipt rejected (the verifier has signing keys)');
  }
  if (zeroKey) return invalid('keyId: zero key id on a signed receipt');
  const key = publicKeys.find((k) => rustKeyId(k) === keyId);
  if (key === undefined) return invalid('keyId: unknown signing key');
  if (!ed25519Verify(key, rustReceiptDigest(claim), claim.signature)) return invalid('signature: does not verify');
  return { status: 'signed' };
}
