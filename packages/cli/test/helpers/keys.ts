// The ed25519 public key of a 32-byte seed, via node:crypto (PKCS#8 wrapping of the raw seed), for tests that check signatures.
// Invariant: the same seed core signs with gives the key core's verifier expects (raw 32-byte ed25519 public key).
import { createPrivateKey, createPublicKey } from 'node:crypto';

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function ed25519PublicKeyOf(seed: Uint8Array): Uint8Array {
  const priv = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(priv).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 32));
}
