// Signing-policy declarations: a system event the key holder appends (signed, like any event) saying
// whether unsigned appends may follow. Only a declaration whose own seal verifies changes the rule.

import { blake3 } from '../crypto/blake3.js';
import { bytesEqual } from '../encoding/hex.js';
import { SystemKinds } from '../kind.js';
import { decodePayload } from '../payload.js';
import type { EventFrame } from '../segment/frame.js';

/** Where declarations go: the store's own system stream. */
export const SIGNING_POLICY_COORDINATE = Object.freeze({ entity: 'batpak:store', scope: 'batpak:signing-policy' });

export type UnsignedAppends = 'allowed' | 'refused';

export interface SigningPolicyDeclaration {
  readonly unsignedAppends: UnsignedAppends;
}

/** The payload a declaration stores (msgpack): `{ unsignedAppends, declaredAt }`. */
export function policyPayload(p: SigningPolicyDeclaration, nowMs: number): { unsignedAppends: UnsignedAppends; declaredAt: number } {
  return { unsignedAppends: p.unsignedAppends, declaredAt: nowMs };
}

/** The declaration a frame holds, if it is an intact one; anything else is no declaration. */
export function policyOfFrame(frame: EventFrame): UnsignedAppends | undefined {
  if (frame.kind !== SystemKinds.SIGNING_POLICY || !bytesEqual(blake3(frame.payload), frame.contentHash)) return undefined;
  let value: unknown;
  try {
    value = decodePayload(frame.payload, '');
  } catch {
    return undefined;
  }
  const v = (value as { unsignedAppends?: unknown } | null)?.unsignedAppends;
  return v === 'allowed' || v === 'refused' ? v : undefined;
}
