// Checkout scope: which checkout (of which Core) the running async context belongs to, so a dispatch from inside one
// is refused (INV-SYNCBAT-NO-REENTRY). Invariant: a scope is open from the checkout's start until its Ctx is sealed.

import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One checkout's scope. A liveness guard, never an authority check: authority lives in the Ctx a checkout hands
 * its handler. Code the checkout started keeps the object after it closes (a timer, say), and may dispatch then.
 */
export interface CheckoutScope {
  readonly core: object;
  open: boolean;
}

const storage = new AsyncLocalStorage<CheckoutScope>();

/**
 * Whether this Node's AsyncLocalStorage rides on async_hooks (Node 20 and 22; Node 24 uses an async context frame
 * instead). There, while any storage is enabled, every promise the process creates pays an init hook, the store's
 * own included: about a sixth of a network heartbeat. So the storage is disabled once no scope has been open for
 * the rest of an event-loop turn (switching the hooks costs more than a dispatch's promises: not once per dispatch).
 */
const HOOKED = typeof (AsyncLocalStorage.prototype as unknown as { _enable?: unknown })._enable === 'function';

let openScopes = 0;
let idleCheck = false;

function disableIfIdle(): void {
  idleCheck = false;
  if (openScopes === 0) storage.disable();
}

export function openScope(core: object): CheckoutScope {
  openScopes++;
  return { core, open: true };
}

/** Idempotent. Disabling is safe while the count is 0: no context can then hold an open scope. */
export function closeScope(scope: CheckoutScope): void {
  if (!scope.open) return;
  scope.open = false;
  if (--openScopes === 0 && HOOKED && !idleCheck) {
    idleCheck = true;
    setImmediate(disableIfIdle);
  }
}

/** Runs `fn` so that it, and every promise and callback it creates, sees `scope`. */
export function inScope<T>(scope: CheckoutScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Whether the running code belongs to an open checkout of `core`. */
export function insideCheckoutOf(core: object): boolean {
  if (openScopes === 0) return false;
  const scope = storage.getStore();
  return scope !== undefined && scope.core === core && scope.open;
}
