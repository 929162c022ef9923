// Store bindings: which @batpak/core store (and coordinate) each built-in store participant writes to, kept off its public shape.
// Invariant: only the exact StoreEffectBackend / StoreReceiptSink / StoreOperationStatusSink classes bind; a subclass reads as custom.

import type { Coordinate, EventKind, Store } from '@batpak/core';

/** Where a store-backed participant writes. Filled by the exact Store* classes' constructors (not subclasses). */
export interface StoreBinding {
  readonly store: Store;
  readonly coordinate: Coordinate | undefined;
  readonly cls: unknown;
  /** Set for a wrapping effect backend (stageAppendsThrough): its checks, run before an append is staged. */
  readonly checkAppend?: AppendCheck;
}

/** A synchronous check of an append before it is staged; throw to refuse it (nothing is staged). */
export type AppendCheck = (kind: EventKind, payload: Uint8Array) => void;
const bindings = new WeakMap<object, StoreBinding>();

/** Called by StoreEffectBackend, StoreReceiptSink and StoreOperationStatusSink. */
export function bindToStore(participant: object, cls: unknown, store: Store, coordinate?: Coordinate): void {
  bindings.set(participant, { store, coordinate, cls });
}

/** The binding of a participant built by exactly `cls` (a subclass may override how it writes: it is not staged). */
/**
 * Records that `wrapper` appends through `inner` (a store-bound effect backend) after `check`, so a Core can stage
 * its appends like `inner`'s. False (nothing recorded) when `inner` is not store-bound.
 */
export function bindThrough(wrapper: object, inner: object, check: AppendCheck | undefined): boolean {
  const b = bindingOf(inner);
  if (b === undefined || b === null || b.coordinate === undefined) return false;
  const innerCheck = b.checkAppend;
  // The wrapper's check runs first: its appendEvent checks, then calls inner's.
  const checkAppend: AppendCheck | undefined =
    check === undefined ? innerCheck : innerCheck === undefined ? check : (k, p) => (check(k, p), innerCheck(k, p));
  bindings.set(wrapper, { store: b.store, coordinate: b.coordinate, cls: wrapper.constructor, ...(checkAppend === undefined ? {} : { checkAppend }) });
  return true;
}

export function bindingOf(participant: object | undefined): StoreBinding | undefined | null {
  if (participant === undefined) return undefined;
  const b = bindings.get(participant);
  return b !== undefined && participant.constructor === b.cls ? b : null;
}

