// An append takes a Coordinate built by the class itself without checking its strings again (it was validated
// and frozen), and the class remembers pairs it validated; INV-COORDINATE-EDGE still holds: a forged instance or a Proxy is judged by its fields.

import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const Note = defineEvent<unknown>({ category: 3, typeId: 1, name: 'Note' });
const RAW = { category: 3, typeId: 2 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    return (err as BatpakError).code;
  }
  return 'resolved';
}

describe('INV-COORDINATE-EDGE a trusted Coordinate is only one the class itself built', () => {
  it('appends an exact Coordinate; refuses a forged instance and a Proxy of a real one with a bad entity', async () => {
    const store = await Store.open({ dir: '/s', fs: new SimFs(3) });
    const good = new Coordinate('acct', 'x');
    const receipts = await store.appendBatch([
      { coord: good, kind: Note, payload: 1 },
      { coord: good, kind: RAW, payload: new Uint8Array(2) },
    ]);
    expect(receipts.map((r) => r.coordinate)).toEqual([
      { entity: 'acct', scope: 'x' },
      { entity: 'acct', scope: 'x' },
    ]);

    const forged = Object.assign(Object.create(Coordinate.prototype) as Coordinate, { entity: '../etc', scope: 'x' });
    expect(await codeOf(store.appendBatch([{ coord: forged, kind: RAW, payload: new Uint8Array(1) }]))).toBe('ERR_INVALID_COORDINATE');

    // A Proxy of a real Coordinate is a different object: its fields are read and checked.
    const proxied = new Proxy(good, { get: (t, k) => (k === 'entity' ? 'a|b' : Reflect.get(t, k)) });
    expect(await codeOf(store.appendBatch([{ coord: proxied, kind: RAW, payload: new Uint8Array(1) }]))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.appendRaw(proxied, RAW, new Uint8Array(1)))).toBe('ERR_INVALID_COORDINATE');
    expect(await codeOf(store.append(proxied, Note, 1))).toBe('ERR_INVALID_COORDINATE');

    const entities: string[] = [];
    for await (const e of store.query({})) entities.push(e.coordinate.entity);
    expect(entities).toEqual(['acct', 'acct']);
    await store.close();
  });

  it('a pair validated before is remembered exactly: same entity with another scope, and a refused pair, are checked', () => {
    expect(new Coordinate('acct', 's').scope).toBe('s');
    expect(new Coordinate('acct', 's').entity).toBe('acct');
    for (let i = 0; i < 2; i++) {
      expect(() => new Coordinate('acct', 'x|y')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_COORDINATE' }));
      expect(() => new Coordinate('s', 'acct/..')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_COORDINATE' }));
    }
    expect(() => new Coordinate(1 as unknown as string, 's')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_COORDINATE' }));
  });
});
