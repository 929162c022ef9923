// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) for crypto-shred payloads: sealed = ciphertext ‖ 16-byte tag.
// Invariant: xchachaOpen returns plaintext only after the tag verified; any mismatch is ERR_PAYLOAD_DECRYPT_FAILED.
//
// Two backends produce the same bytes (tests cross-check both against @noble/ciphers and the draft's vectors):
// libsodium through the optional sodium-native addon when it loads (5–6x faster at event sizes), otherwise
// the portable noble HChaCha20 + node:crypto construction. Arguments are checked here, once, for both.

import { BatpakError } from '../errors.js';
import { XCHACHA_KEY_LENGTH, XCHACHA_NONCE_LENGTH, XCHACHA_TAG_LENGTH, requireBytes } from './aead-args.js';
import { nativeAead } from './aead-native.js';
import { portableOpen, portableSeal } from './aead-portable.js';

export { XCHACHA_KEY_LENGTH, XCHACHA_NONCE_LENGTH, XCHACHA_TAG_LENGTH } from './aead-args.js';
export { hchacha20 } from './aead-portable.js';

/** Which backend seals and opens in this process: 'libsodium' (sodium-native) or 'node:crypto' (portable). */
export const AEAD_BACKEND: 'libsodium' | 'node:crypto' = nativeAead === undefined ? 'node:crypto' : 'libsodium';

function checkKeyNonce(key: Uint8Array, nonce: Uint8Array): void {
  requireBytes(key, XCHACHA_KEY_LENGTH, 'key');
  requireBytes(nonce, XCHACHA_NONCE_LENGTH, 'nonce');
}

/**
 * Encrypts and authenticates `plaintext` and `aad`. Returns ciphertext ‖ tag (plaintext length + 16), which may view
 * a region of a shared buffer (its `.buffer` is not its own): meant for payloads written soon, not kept for long.
 */
export function xchachaSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKeyNonce(key, nonce);
  requireBytes(plaintext, undefined, 'plaintext');
  requireBytes(aad, undefined, 'aad');
  return nativeAead === undefined ? portableSeal(key, nonce, plaintext, aad) : nativeAead.seal(key, nonce, plaintext, aad);
}

/**
 * xchachaSeal for arrays the caller keeps and reuses or made off V8's heap (randomNonce24's nonces, a seal context's
 * AAD): the native backend hands them to libsodium without copying each into its scratch first. Same bytes.
 */
export function xchachaSealKept(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKeyNonce(key, nonce);
  requireBytes(plaintext, undefined, 'plaintext');
  requireBytes(aad, undefined, 'aad');
  return nativeAead === undefined ? portableSeal(key, nonce, plaintext, aad) : nativeAead.sealKept(key, nonce, plaintext, aad);
}

/**
 * Verifies and decrypts `sealed` (ciphertext ‖ tag). A wrong key, nonce or AAD, any altered byte, or input
 * shorter than a tag throws ERR_PAYLOAD_DECRYPT_FAILED; no unauthenticated plaintext is ever returned.
 */
export function xchachaOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  checkKeyNonce(key, nonce);
  requireBytes(sealed, undefined, 'sealed');
  requireBytes(aad, undefined, 'aad');
  if (nativeAead === undefined) return portableOpen(key, nonce, sealed, aad);
  if (sealed.length < XCHACHA_TAG_LENGTH) {
    throw new BatpakError('ERR_PAYLOAD_DECRYPT_FAILED', `sealed payload is ${sealed.length} bytes, shorter than the tag`);
  }
  const plaintext = nativeAead.open(key, nonce, sealed, aad);
  if (plaintext === undefined) throw new BatpakError('ERR_PAYLOAD_DECRYPT_FAILED', 'payload authentication failed (wrong key, nonce or AAD, or altered bytes)');
  return plaintext;
}
