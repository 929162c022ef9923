// The fail-closed messages of an effect axis nobody implements — syncbat's defaults, repeated because syncbat does not export them.
// Invariant: a wrapper backend that lacks an inner axis rejects with exactly the message a bare syncbat Ctx would give.

import { EffectError } from '@batpak/syncbat';

export const UNSUPPORTED = Object.freeze({
  readEvent: 'event reads are not supported by this effect backend',
  queryProjection: 'projection queries are not supported by this effect backend',
  emitReceipt: 'receipt emission is not supported by this effect backend',
  useHostControl: 'host controls are not supported by this effect backend',
});

export function unsupported(axis: keyof typeof UNSUPPORTED): never {
  throw new EffectError(UNSUPPORTED[axis]);
}
