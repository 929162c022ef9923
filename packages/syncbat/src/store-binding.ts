// Store bindings: which @batpak/core store (and coordinate) each built-in store participant writes to, kept off its public shape.
// Invariant: only the exact StoreEffectBackend / StoreReceiptSink / StoreOperationStatusSink classes bind; a subclass reads as custom.

import type { Coordinate, Store } from '@batpak/core';

/** Where a store-backed participant writes. Filled by the exact Store* classes' constructors (not subclasses). */
export interface StoreBinding {
  readonly store: Store;
  readonly coordinate: Coordinate | undefined;
  readonly cls: unknown;
}
const bindings = new WeakMap<object, StoreBinding>();

/** Called by StoreEffectBackend, StoreReceiptSink and StoreOperationStatusSink. */
export function bindToStore(participant: object, cls: unknown, store: Store, coordinate?: Coordinate): void {
  bindings.set(participant, { store, coordinate, cls });
}

/** The binding of a participant built by exactly `cls` (a subclass may override how it writes: it is not staged). */
export function bindingOf(participant: object | undefined): StoreBinding | undefined | null {
  if (participant === undefined) return undefined;
  const b = bindings.get(participant);
  return b !== undefined && participant.constructor === b.cls ? b : null;
}

