// A head attestation: the signed statement "this store held exactly these events up to this sequence".
// Invariant: every field is in the signed message, so changing any one invalidates it (INV-ATTEST-SIGNED).

import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { fromHex, toHex } from '../encoding/hex.js';
import type { ReceiptSigner } from '../receipt/sign.js';

export const ATTESTATION_VERSION = 1;
/** Longest label (UTF-8 bytes) an attestation carries. */
export const ATTESTATION_LABEL_MAX_BYTES = 256;
const DOMAIN = new TextEncoder().encode('batpak.attestation.v1\0');
const utf8 = new TextEncoder();

/** A signed statement of a store's log: verifiable offline with only the public key (FORMAT.md § Head attestations). */
export interface HeadAttestation {
  readonly version: 1;
  /** Global sequence of the last event the attestation covers (0n: an empty store). */
  readonly globalSequence: bigint;
  /** Number of events with a global sequence up to `globalSequence`, compaction-removed ones included. */
  readonly eventCount: bigint;
  /** The running head hash over those events (32 bytes). */
  readonly head: Uint8Array;
  /** When it was made, Unix ms. */
  readonly attestedAt: bigint;
  /** Key id of the signer: lowercase hex blake3(public key). */
  readonly keyId: string;
  /** Ed25519 signature (64 bytes) over the attestation message. */
  readonly signature: Uint8Array;
  /** Optional name of the store (given by the caller; "" when none). */
  readonly label: string;
}

export type UnsignedAttestation = Omit<HeadAttestation, 'signature'>;

const U64_MAX = (1n << 64n) - 1n;

/**
 * The signed bytes: "batpak.attestation.v1" 00 ‖ u64be globalSequence ‖ u64be eventCount ‖ head(32) ‖
 * u64be attestedAt ‖ keyId(32) ‖ u32be label length ‖ label (UTF-8).
 */
export function attestationMessage(a: UnsignedAttestation): Uint8Array {
  for (const [name, v] of [['globalSequence', a.globalSequence], ['eventCount', a.eventCount], ['attestedAt', a.attestedAt]] as const) {
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new BatpakError('ERR_INVALID_ATTESTATION', `attestation ${name} is not a u64`, { details: { field: name } });
  }
  const label = utf8.encode(a.label);
  const out = new Uint8Array(DOMAIN.length + 8 + 8 + 32 + 8 + 32 + 4 + label.length);
  const dv = new DataView(out.buffer);
  let p = 0;
  out.set(DOMAIN, p);
  p += DOMAIN.length;
  dv.setBigUint64(p, a.globalSequence);
  dv.setBigUint64(p + 8, a.eventCount);
  out.set(a.head, p + 16);
  dv.setBigUint64(p + 48, a.attestedAt);
  out.set(fromHex(a.keyId, 'keyId'), p + 56);
  dv.setUint32(p + 88, label.length);
  out.set(label, p + 92);
  return out;
}

/** Signs a statement with the store's signer; ERR_SIGNING_FAILED when the signer fails or misbehaves. */
export function signAttestation(
  signer: ReceiptSigner,
  fields: { readonly globalSequence: bigint; readonly eventCount: bigint; readonly head: Uint8Array; readonly attestedAt: bigint; readonly label: string },
): HeadAttestation {
  checkLabel(fields.label);
  const unsigned: UnsignedAttestation = { version: ATTESTATION_VERSION, ...fields, head: fields.head.slice(), keyId: toHex(blake3(signer.publicKey)) };
  let signature: Uint8Array;
  try {
    signature = signer.sign(attestationMessage(unsigned));
  } catch (err) {
    throw BatpakError.signerFailed('the signer', err);
  }
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    throw BatpakError.badSignature('the signer');
  }
  return { ...unsigned, signature: new Uint8Array(signature) };
}

/** No lone UTF-16 surrogate (which UTF-8 cannot carry: it would not survive a round trip). */
export function wellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

/** A label is a string of at most ATTESTATION_LABEL_MAX_BYTES UTF-8 bytes with no lone surrogate. */
export function checkLabel(label: unknown): asserts label is string {
  if (typeof label !== 'string' || !wellFormed(label) || utf8.encode(label).length > ATTESTATION_LABEL_MAX_BYTES) {
    throw BatpakError.invalidArgument(`label must be a well-formed string of at most ${ATTESTATION_LABEL_MAX_BYTES} UTF-8 bytes`, { field: 'label' });
  }
}
