// Receipt verification, with and without a store: the same decision table either way, so a receipt
// kept by a caller verifies years later with only the public key (verdicts as in Rust batpak).

import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { bytesEqual } from '../encoding/hex.js';
import { isWellFormedString } from '../encoding/utf16.js';
import { isEventIdString } from '../id.js';
import type { AppendReceipt } from '../types.js';
import { coverLeaf, groupMessage, keyIdOf, receiptCover } from './cover.js';
import { rootFromProof } from './merkle.js';

export type ReceiptStatus = 'signed' | 'unsigned-accepted' | 'invalid';

export interface ReceiptVerdict {
  readonly status: ReceiptStatus;
  /** For 'invalid': the first field that disagrees, then why (e.g. `contentHash: differs from the committed event`). */
  readonly reason?: string;
}

/** Signed or unsigned-accepted. */
export function isValid(v: ReceiptVerdict): boolean {
  return v.status !== 'invalid';
}

/** Signed by a known key. An unsigned-accepted receipt is valid but not signed. */
export function isSigned(v: ReceiptVerdict): boolean {
  return v.status === 'signed';
}

const invalid = (reason: string): ReceiptVerdict => ({ status: 'invalid', reason });

const isBytes = (x: unknown, n?: number): x is Uint8Array => x instanceof Uint8Array && (n === undefined || x.length === n);
const isU64 = (x: unknown): x is bigint => typeof x === 'bigint' && x >= 0n && x < 1n << 64n;

/** The first malformed field of something claimed to be a receipt, or undefined when well-formed. */
export function malformedField(r: unknown): string | undefined {
  if (typeof r !== 'object' || r === null) return 'receipt';
  const x = r as Partial<Record<keyof AppendReceipt, unknown>>;
  if (!isEventIdString(x.eventId)) return 'eventId';
  if (!isU64(x.globalSequence)) return 'globalSequence';
  if (!isU64(x.entitySequence)) return 'entitySequence';
  const k = x.kind as { category?: unknown; typeId?: unknown } | undefined;
  if (typeof k !== 'object' || k === null || !Number.isInteger(k.category) || !Number.isInteger(k.typeId)) return 'kind';
  if ((k.category as number) < 0 || (k.category as number) > 15 || (k.typeId as number) < 0 || (k.typeId as number) > 0xfff) return 'kind';
  const c = x.coordinate as { entity?: unknown; scope?: unknown } | undefined;
  if (typeof c !== 'object' || c === null || typeof c.entity !== 'string' || typeof c.scope !== 'string') return 'coordinate';
  // The cover holds UTF-8: a lone surrogate would be written as U+FFFD and verify for another coordinate.
  if (!isWellFormedString(c.entity) || !isWellFormedString(c.scope)) return 'coordinate';
  if (!isBytes(x.contentHash, 32)) return 'contentHash';
  if (!isBytes(x.prevHash, 32)) return 'prevHash';
  if (!isU64(x.committedAt)) return 'committedAt';
  if (x.extensions !== undefined) {
    if (!(x.extensions instanceof Map)) return 'extensions';
    for (const [key, v] of x.extensions) if (typeof key !== 'string' || !isWellFormedString(key) || !isBytes(v)) return 'extensions';
  }
  if (x.signature !== undefined && !isBytes(x.signature, 64)) return 'signature';
  if (x.keyId !== undefined && (typeof x.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(x.keyId))) return 'keyId';
  if (x.groupProof !== undefined) {
    const p = x.groupProof as { index?: unknown; siblings?: unknown };
    if (typeof p !== 'object' || p === null || !Number.isSafeInteger(p.index) || !Array.isArray(p.siblings)) return 'groupProof';
    if (!p.siblings.every((s) => isBytes(s, 32))) return 'groupProof';
  }
  return undefined;
}

/**
 * The signature half of verification (after any field comparison): the Rust decision table.
 * `keys` are the verifier's public keys; `unsignedAllowed` says an unsigned receipt is acceptable.
 */
export function verifySignature(r: AppendReceipt, keys: readonly Uint8Array[], unsignedAllowed: boolean): ReceiptVerdict {
  if (r.signature === undefined) {
    if (r.keyId !== undefined) return invalid('signature: missing, but a keyId is present');
    if (r.groupProof !== undefined) return invalid('signature: missing, but a groupProof is present');
    return unsignedAllowed ? { status: 'unsigned-accepted' } : invalid('signature: unsigned receipt rejected (a signing key is configured)');
  }
  if (r.keyId === undefined) return invalid('keyId: missing on a signed receipt');
  const key = keys.find((k) => keyIdOf(k) === r.keyId);
  if (key === undefined) return invalid('keyId: unknown signing key');
  const proof = r.groupProof ?? { index: 0, siblings: [] };
  const root = rootFromProof(coverLeaf(receiptCover(r)), proof);
  if (root === undefined) return invalid('groupProof: malformed');
  if (!ed25519Verify(key, groupMessage(root), r.signature)) return invalid('signature: does not verify');
  return { status: 'signed' };
}

/**
 * Verifies a receipt with no store: the signature over its cover and proof, against `publicKeys`.
 * With no keys, an unsigned receipt is 'unsigned-accepted'; with keys, it is invalid.
 */
export function verifyReceiptClaim(receipt: AppendReceipt, publicKeys: readonly Uint8Array[]): ReceiptVerdict {
  const bad = malformedField(receipt);
  if (bad !== undefined) return invalid(`${bad}: malformed`);
  for (const k of publicKeys) if (!isBytes(k, 32)) return invalid('publicKeys: each key must be 32 bytes');
  return verifySignature(receipt, publicKeys, publicKeys.length === 0);
}

/** Field-by-field comparison with the committed event; the first disagreement names the field. */
export function compareWithCommitted(r: AppendReceipt, committed: AppendReceipt): ReceiptVerdict | undefined {
  if (r.globalSequence !== committed.globalSequence) return invalid('globalSequence: differs from the committed event');
  if (r.entitySequence !== committed.entitySequence) return invalid('entitySequence: differs from the committed event');
  if (r.kind.category !== committed.kind.category || r.kind.typeId !== committed.kind.typeId) return invalid('kind: differs from the committed event');
  if (r.coordinate.entity !== committed.coordinate.entity || r.coordinate.scope !== committed.coordinate.scope) {
    return invalid('coordinate: differs from the committed event');
  }
  if (!bytesEqual(r.contentHash, committed.contentHash)) return invalid('contentHash: differs from the committed event');
  if (!bytesEqual(r.prevHash, committed.prevHash)) return invalid('prevHash: differs from the committed event');
  if (r.committedAt !== committed.committedAt) return invalid('committedAt: differs from the committed event');
  const a = r.extensions ?? new Map<string, Uint8Array>();
  const b = committed.extensions ?? new Map<string, Uint8Array>();
  if (a.size !== b.size || [...a].some(([k, v]) => !b.has(k) || !bytesEqual(v, b.get(k)!))) {
    return invalid('extensions: differ from the committed event');
  }
  return undefined;
}
