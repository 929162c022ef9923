// Grant matching (INV-NETBAT-AUTH): a grant never matches more than it says; subject normalisation for certificate rules.
import { describe, expect, it } from 'vitest';
import { normalizeSubject } from '../src/auth.js';
import { Grants } from '../src/grants.js';

describe('INV-NETBAT-AUTH: grants', () => {
  it('operations: exact names and prefix.* (a segment boundary), never subscriptions', () => {
    const g = new Grants(['event.get', 'orders.*', 'subscribe:events.1.v1']);
    expect(['event.get', 'orders.place', 'orders.a.b'].map((n) => g.allowsOperation(n))).toEqual([true, true, true]);
    expect(['event.query', 'orders', 'ordersx.place', 'event.get.x', 'subscribe:events.1.v1', 'events.1.v1'].map((n) => g.allowsOperation(n))).toEqual([
      false, false, false, false, false, false,
    ]);
  });

  it('subscriptions: only subscribe: grants and *', () => {
    const g = new Grants(['events.1.v1', 'subscribe:orders.*']);
    expect(g.allowsSubscription('events.1.v1')).toBe(false);
    expect(g.allowsSubscription('orders.open.v1')).toBe(true);
    expect(g.allowsSubscription('payments.v1')).toBe(false);
    const all = new Grants(['*']);
    expect([all.allowsOperation('anything.at.all'), all.allowsSubscription('any.v1')]).toEqual([true, true]);
    expect(new Grants([]).allowsOperation('system.heartbeat')).toBe(false);
    expect(new Grants(['subscribe:*']).allowsOperation('system.heartbeat')).toBe(false);
  });

  it('subjects compare in Node form and in the configured `, ` form', () => {
    expect(normalizeSubject('CN=reporter\nO=batpak')).toBe('CN=reporter, O=batpak');
    expect(normalizeSubject('CN=reporter,O=batpak')).toBe('CN=reporter, O=batpak');
    expect(normalizeSubject(' CN=reporter ,  O=batpak ')).toBe('CN=reporter, O=batpak');
  });
});
