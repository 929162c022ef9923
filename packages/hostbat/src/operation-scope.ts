// Operation scope: which hosted operation an effect call comes from, carried through async calls by AsyncLocalStorage.
// Invariant: inside a hosted guard or handler, currentOperation() is that checkout's descriptor; outside any, it is undefined.

import { AsyncLocalStorage } from 'node:async_hooks';
import type { OperationDescriptor } from '@batpak/syncbat';

const scope = new AsyncLocalStorage<OperationDescriptor>();

/** Runs `fn` (a guard or handler) so that effect backends it reaches can see `descriptor`. */
export function runInOperation<T>(descriptor: OperationDescriptor, fn: () => T): T {
  return scope.run(descriptor, fn);
}

export function currentOperation(): OperationDescriptor | undefined {
  return scope.getStore();
}
