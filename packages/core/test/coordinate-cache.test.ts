// The reader's Coordinate per (entity, scope): one frozen instance per pair, the same checks as Coordinate's
// constructor (INV-COORDINATE-EDGE), bounded; a query over more pairs than Coordinate itself remembers shares them.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';
import { CoordinateCache } from '../src/store/coordinate-cache.js';

describe('CoordinateCache', () => {
  it('gives one frozen Coordinate per pair, and refuses an invalid pair as the constructor does', () => {
    const c = new CoordinateCache();
    const a = c.get('acct-1', 's');
    expect(a).toBeInstanceOf(Coordinate);
    expect(Object.isFrozen(a)).toBe(true);
    expect(c.get('acct-1', 's')).toBe(a);
    expect(c.get('acct-1', 't')).not.toBe(a);
    expect(c.get('acct-1', 't').toJSON()).toEqual({ entity: 'acct-1', scope: 't' });
    for (const [entity, scope] of [['a/b', 's'], ['a', 'x|y'], ['', 's'], ['a', '..']] as const) {
      let err: unknown;
      try {
        c.get(entity, scope);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BatpakError);
      expect((err as BatpakError).code).toBe('ERR_INVALID_COORDINATE');
    }
  });

  it('stays bounded: past its size it starts again and still answers every pair', () => {
    const c = new CoordinateCache();
    const first = c.get('e-0', 's');
    let wrong = 0;
    for (let i = 0; i < 70_000; i++) if (c.get(`e-${i}`, 's').entity !== `e-${i}`) wrong++;
    expect(wrong).toBe(0);
    const again = c.get('e-0', 's');
    expect(again.toJSON()).toEqual(first.toJSON());
    expect(again).not.toBe(first);
  });

  it('a query over 5,000 entities gives the events of one coordinate one shared Coordinate', async () => {
    const s = await Store.open({ dir: '/c', fs: new SimFs(5) });
    const items = Array.from({ length: 10_000 }, (_, i) => ({ coord: new Coordinate(`ent-${i % 5000}`, 'sc'), kind: { category: 3, typeId: 1 }, payload: new Uint8Array([i & 0xff]) }));
    for (let i = 0; i < items.length; i += 2500) await s.appendBatch(items.slice(i, i + 2500));
    const seen = new Map<string, Coordinate>();
    let n = 0;
    for await (const e of s.query()) {
      const prior = seen.get(e.coordinate.entity);
      if (prior === undefined) seen.set(e.coordinate.entity, e.coordinate);
      else expect(e.coordinate).toBe(prior);
      n++;
    }
    expect(n).toBe(10_000);
    expect(seen.size).toBe(5000);
    await s.close();
  }, 60_000);
});
