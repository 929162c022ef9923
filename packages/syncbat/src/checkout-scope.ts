// Checkout scope: which checkout (of which Core) the running async context belongs to, so a dispatch from inside one
// is refused (INV-SYNCBAT-NO-REENTRY). Invariant: a scope is open from the checkout's start until it settles.

import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * One checkout's scope. A liveness guard, never an authority check: authority lives in the Ctx a checkout hands
 * its handler. Code the checkout started keeps the object after it closes (a timer, say), and may dispatch then.
 */
export interface CheckoutScope {
  readonly core: object;
  open: boolean;
}

/*
 * Measured and dropped: disabling the storage while no scope is open (where AsyncLocalStorage rides on async_hooks,
 * every promise pays a hook while it is enabled). Switching the hooks costs ~10-27 us, so per dispatch it cost more
 * than it saved (+6 % instructions per network heartbeat) and once per event-loop turn it saved nothing measurable.
 */
/*
 * What the scope costs, and why it stays (Node 20, callgrind, persist with one writer on SimFs, 3,000 -> 6,000
 * dispatches): 200.1k instructions per dispatch with it, 166.4k with no scope at all (-17 %). Nearly all of that is
 * the async_hooks the storage turns on, paid by every promise and callback in the process (the store's included),
 * not the `run` per checkout: with the hooks on and no `run` the count did not drop (216.3k against 208.6k, same
 * harness). So one `run` per batch of dispatches, or `enterWith`, would save nothing; what helps is fewer promises
 * per dispatch. A plain flag cannot replace it: it cannot follow a handler past an await or into a timer, which is
 * where a re-entrant dispatch that waits for its own checkout starts. Where AsyncLocalStorage does not ride on
 * async_hooks (Node 24's AsyncContextFrame), the cost is gone without a change here.
 */
const storage = new AsyncLocalStorage<CheckoutScope>();

/** Runs `fn` in a new open scope of `core`: it, and every promise and callback it creates, sees that scope. */
export function inNewScope<T>(core: object, fn: (scope: CheckoutScope) => T): T {
  const scope: CheckoutScope = { core, open: true };
  return storage.run(scope, fn, scope);
}

/** Whether the running code belongs to an open checkout of `core`. */
export function insideCheckoutOf(core: object): boolean {
  const scope = storage.getStore();
  return scope !== undefined && scope.core === core && scope.open;
}
