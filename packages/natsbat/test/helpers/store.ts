// Stores for the natsbat tests: in-memory (SimFs), signed or not, filled with events over a few
// entities — with many equal payloads, so content hashes repeat across events.

import { Coordinate, defineEvent, EventRegistry, Store, type AppendReceipt, type StoreOptions } from '@batpak/core';
import { SimFs } from '@batpak/core/testing';

export const Deposited = defineEvent<{ amount: number }>({ category: 0x1, typeId: 1, name: 'Deposited' });
export const SEED = new Uint8Array(32).fill(7);

export interface TestStore {
  readonly store: Store;
  readonly fs: SimFs;
}

export async function openStore(options: Partial<StoreOptions> & { readonly seed?: number; readonly fs?: SimFs } = {}): Promise<TestStore> {
  const fs = options.fs ?? new SimFs(options.seed ?? 1);
  const { seed: _seed, fs: _fs, ...rest } = options;
  const store = await Store.open({ dir: '/store', fs, registry: new EventRegistry([Deposited]), ...rest });
  return { store, fs };
}

/**
 * Appends `count` events round-robin over `entities` entities, `group` per appendBatch (one commit
 * group each, default 50); amounts repeat every 5. Returns the receipts append gave, in commit order.
 * (store.receipt re-hashes an event's whole commit group, so exporting costs time per event in
 * proportion to the group: groups of 500 make the 10k-event tests minutes long.)
 */
export async function fill(
  store: Store,
  count: number,
  options: { readonly entities?: number; readonly offset?: number; readonly group?: number } = {},
): Promise<AppendReceipt[]> {
  const entities = options.entities ?? 7;
  const offset = options.offset ?? 0;
  const group = options.group ?? 50;
  const receipts: AppendReceipt[] = [];
  for (let done = 0; done < count; ) {
    const n = Math.min(group, count - done);
    const items = Array.from({ length: n }, (_, i) => {
      const k = offset + done + i;
      return { coord: new Coordinate(`account:${k % entities}`, 'bank'), kind: Deposited, payload: { amount: k % 5 } };
    });
    receipts.push(...(await store.appendBatch(items)));
    done += n;
  }
  return receipts;
}
