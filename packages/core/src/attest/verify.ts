// Offline verification of a head attestation with only public keys. Invariant: never throws for a bad
// attestation — the verdict names the first problem (INV-ATTEST-SIGNED).

import { blake3 } from '../crypto/blake3.js';
import { verify as ed25519Verify } from '../crypto/ed25519.js';
import { BatpakError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import { attestationMessage, ATTESTATION_LABEL_MAX_BYTES, wellFormed, type HeadAttestation } from './statement.js';

export interface AttestationVerdict {
  readonly status: 'valid' | 'invalid';
  /** Why it is invalid: `<field>: <problem>`. */
  readonly reason?: string;
}

const U64_MAX = (1n << 64n) - 1n;

/** The first malformed field of something claimed to be an attestation, or undefined. */
export function malformedAttestationField(a: unknown): string | undefined {
  if (typeof a !== 'object' || a === null) return 'attestation';
  const o = a as Record<string, unknown>;
  if (o.version !== 1) return 'version';
  for (const f of ['globalSequence', 'eventCount', 'attestedAt'] as const) {
    const v = o[f];
    if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) return f;
  }
  if ((o.eventCount as bigint) > (o.globalSequence as bigint)) return 'eventCount';
  if (!(o.head instanceof Uint8Array) || o.head.length !== 32) return 'head';
  if (typeof o.keyId !== 'string' || !/^[0-9a-f]{64}$/.test(o.keyId)) return 'keyId';
  if (!(o.signature instanceof Uint8Array) || o.signature.length !== 64) return 'signature';
  if (typeof o.label !== 'string' || !wellFormed(o.label) || new TextEncoder().encode(o.label).length > ATTESTATION_LABEL_MAX_BYTES) return 'label';
  return undefined;
}

/**
 * Checks an attestation's signature with the public keys it may be signed by (the current key and any
 * rotated-out ones). `valid` means a holder of one of these keys made exactly this statement.
 */
export function verifyAttestation(attestation: HeadAttestation, publicKeys: readonly Uint8Array[]): AttestationVerdict {
  if (!Array.isArray(publicKeys) || publicKeys.some((k) => !(k instanceof Uint8Array) || k.length !== 32)) {
    throw BatpakError.invalidArgument('publicKeys must be an array of 32-byte ed25519 public keys', { field: 'publicKeys' });
  }
  const bad = malformedAttestationField(attestation);
  if (bad !== undefined) return { status: 'invalid', reason: `${bad}: malformed` };
  const key = publicKeys.find((k) => toHex(blake3(k)) === attestation.keyId);
  if (key === undefined) return { status: 'invalid', reason: `keyId: ${attestation.keyId} is not among the ${publicKeys.length} trusted public key(s)` };
  if (!ed25519Verify(key, attestationMessage(attestation), attestation.signature)) return { status: 'invalid', reason: 'signature: does not verify' };
  return { status: 'valid' };
}
