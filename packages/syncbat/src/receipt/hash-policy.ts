// ReceiptHashPolicy: how receipts and status facts fingerprint the invocation's input and output bytes.
// Invariant: the default is `blake3` (safe); `deferred` is the named opt-out that records no hashes.

import { blake3 } from '@batpak/core';

/**
 * `blake3` (default): 32-byte BLAKE3 of the raw bytes. `deferred`: no hashes. `{ rawBytes }`: a caller's
 * deterministic hasher, which must return 32 bytes.
 */
export type ReceiptHashPolicy = 'blake3' | 'deferred' | { readonly rawBytes: (bytes: Uint8Array) => Uint8Array };

export function checkHashPolicy(policy: unknown): ReceiptHashPolicy {
  if (policy === 'blake3' || policy === 'deferred') return policy;
  if (typeof policy === 'object' && policy !== null && typeof (policy as { rawBytes?: unknown }).rawBytes === 'function') {
    return policy as ReceiptHashPolicy;
  }
  throw new TypeError("receipt hash policy must be 'blake3', 'deferred' or { rawBytes: (bytes) => Uint8Array }");
}

/** The hash of `bytes` under `policy`, or undefined when deferred. Throws when a raw hasher misbehaves. */
export function hashUnder(policy: ReceiptHashPolicy, bytes: Uint8Array): Uint8Array | undefined {
  if (policy === 'deferred') return undefined;
  if (policy === 'blake3') return blake3(bytes);
  const out = policy.rawBytes(bytes);
  if (!(out instanceof Uint8Array) || out.length !== 32) {
    throw new TypeError(`the receipt hasher returned ${out instanceof Uint8Array ? `${out.length} bytes` : typeof out}, expected 32 bytes`);
  }
  return new Uint8Array(out);
}
