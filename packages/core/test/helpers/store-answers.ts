// Everything a reader of a store can ask, gathered as plain data: tests that open the same directory two ways
// (served from index files, scanned, rebuilt) compare these. Entities are named `ent-<n>` by those tests.
import type { Store } from '../../src/index.js';

/** Every header in commit order, each entity's events and head (`ent-0` .. `ent-<entities>`), gets, receipts, verifyChain. */
export async function storeAnswers(s: Store, ids: readonly string[], entities: number) {
  const headers = [];
  for await (const e of s.query()) headers.push(e.header);
  const byEntity: Record<string, unknown[]> = {};
  const heads: Record<string, unknown> = {};
  // One entity more than the tests write: a name with no events answers too.
  for (let i = 0; i < entities + 1; i++) {
    const entity = `ent-${i}`;
    byEntity[entity] = [];
    for await (const e of s.query({ entity })) byEntity[entity]!.push([e.header, e.payload]);
    heads[entity] = s.head(entity);
  }
  const gets = [];
  for (const id of ids) gets.push(await s.get(id));
  const receipts = [];
  for (const id of ids.slice(0, 12)) receipts.push(await s.receipt(id));
  const report = await s.verifyChain();
  return { events: s.stats().events, headers, byEntity, heads, gets, receipts, report };
}
