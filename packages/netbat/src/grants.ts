// Grants: what one client may do — the operations it may CALL, the subscriptions it may open, the capabilities it holds.
// Invariant: a grant never matches more than it says: `*` is every operation and subscription, never a capability.

/** Prefix of a subscription grant: `subscribe:events.1.v1`, `subscribe:events.*`, `subscribe:*`. */
export const SUBSCRIBE_GRANT_PREFIX = 'subscribe:';

function matches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1));
  return pattern === name;
}

/**
 * A client's grant list, read three ways. `name` or `prefix.*` lets it CALL operations; `subscribe:<id>` or
 * `subscribe:prefix.*` lets it SUBSCRIBE; `*` allows every operation and subscription. Every token is also
 * handed to the dispatcher as a capability, which syncbat checks against what the operation requires
 * (so `payload.decrypt` must be named: no wildcard grants a capability).
 */
export class Grants {
  readonly tokens: readonly string[];

  constructor(tokens: readonly string[]) {
    this.tokens = Object.freeze([...tokens]);
  }

  allowsOperation(name: string): boolean {
    return this.tokens.some((t) => !t.startsWith(SUBSCRIBE_GRANT_PREFIX) && matches(t, name));
  }

  allowsSubscription(id: string): boolean {
    return this.tokens.some((t) => t === '*' || (t.startsWith(SUBSCRIBE_GRANT_PREFIX) && matches(t.slice(SUBSCRIBE_GRANT_PREFIX.length), id)));
  }
}

/** The grant list of `batpak serve`'s anonymous clients unless `--allow-anonymous` names more: liveness only. */
export const DEFAULT_ANONYMOUS_GRANTS: readonly string[] = Object.freeze(['system.heartbeat']);
