// The hex form of a key scope, as the index keys its per-scope key generations by: kept per scope array, since the
// appends of one coordinate carry the very same scope bytes (the seal context's), and turning them to hex was ~0.8 µs
// of every encrypted event's index insert.
// Invariant: only scopes the index keeps (its records' encryption references, never written once made) are turned to
// hex here, so a kept hex stays true.

import { toHex } from '../encoding/hex.js';

/** Weak: a scope's hex goes with its array (a dropped seal context, a decoded frame's scope). */
const known = new WeakMap<Uint8Array, string>();

/** `toHex(scope)`, computed once per scope array. */
export function scopeHex(scope: Uint8Array): string {
  let hex = known.get(scope);
  if (hex === undefined) {
    hex = toHex(scope);
    known.set(scope, hex);
  }
  return hex;
}
