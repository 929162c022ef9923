// Remote verification (INV-NATSBAT-REMOTE-VERIFY), without a server: each kind of damage to an exported
// stream is reported, and an undamaged one is intact with only the public key.
import { blake3, type AppendReceipt, type Store } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { ExportVerifier, type ExportedEvent } from '../src/index.js';
import { exportReceipts } from '../src/attest.js';
import { msgIdOf } from '../src/message.js';
import { fill, openStore, SEED } from './helpers/store.js';

async function exported(store: Store): Promise<ExportedEvent[]> {
  const raws = [];
  for await (const e of store.query()) raws.push(await store.getRaw(e.header.eventId));
  const receipts = await exportReceipts(store, raws);
  return raws.map((e, i) => ({
    streamSequence: BigInt(i + 1),
    subject: `batpak.t.${e.coordinate.entity}`,
    msgId: msgIdOf(e.header.eventId, e.header.contentHash),
    receipt: receipts[i]!,
    payload: e.bytes,
    payloadVersion: e.header.payloadVersion,
    raw: e.header.raw,
    encrypted: e.header.encrypted,
    tombstone: e.header.tombstone,
  }));
}

function verify(events: readonly ExportedEvent[], keys: readonly Uint8Array[], last = BigInt(events.length)) {
  const v = new ExportVerifier({ publicKeys: keys });
  for (const e of events) v.add(e);
  v.end(last);
  return v.report();
}

describe('remote verification — INV-NATSBAT-REMOTE-VERIFY', () => {
  it('an undamaged export is intact with only the public key; with no key its signed receipts are refused', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 50);
    const events = await exported(store);
    const ok = verify(events, [store.publicKey!]);
    expect(ok).toMatchObject({ intact: true, messagesChecked: 50, lastGlobalSequence: 50n, gaps: [], receiptFailures: [] });
    expect(verify(events, []).receiptFailures).toHaveLength(50);
    await store.close();
  });

  it('reports a changed payload, a forged receipt, a broken link, a duplicate, a reorder and missing messages', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 30, { entities: 3 });
    const events = await exported(store);
    const keys = [store.publicKey!];
    const at = (i: number) => events[i]!;
    const swap = (i: number, e: Partial<ExportedEvent>) => events.map((x, j) => (j === i ? { ...x, ...e } : x));

    // Payload changed: the content hash no longer matches.
    expect(verify(swap(4, { payload: new Uint8Array([1, 2, 3]) }), keys).contentHashMismatches).toEqual([at(4).receipt.eventId]);

    // Payload and content hash changed together: the signature fails, and the entity's next link dangles.
    const payload = new Uint8Array([9]);
    const forged: AppendReceipt = { ...at(4).receipt, contentHash: blake3(payload) };
    const r = verify(swap(4, { payload, receipt: forged }), keys);
    expect(r.contentHashMismatches).toEqual([]);
    expect(r.receiptFailures.map((f) => f.eventId)).toEqual([at(4).receipt.eventId]);
    expect(r.danglingLinks).toEqual([at(7).receipt.eventId]);
    expect(r.intact).toBe(false);

    // A message repeated, two swapped, one missing.
    const dup = [...events.slice(0, 10), { ...at(9), streamSequence: 11n }, ...events.slice(10).map((e) => ({ ...e, streamSequence: e.streamSequence + 1n }))];
    expect(verify(dup, keys, 31n).duplicates).toEqual([at(9).receipt.eventId]);
    const swapped = events.map((e, j) => (j === 5 ? { ...at(6), streamSequence: 6n } : j === 6 ? { ...at(5), streamSequence: 7n } : e));
    const rs = verify(swapped, keys);
    expect(rs.outOfOrder).toEqual([at(5).receipt.eventId]);
    const missing = verify(events.filter((_, j) => j !== 12), keys);
    expect(missing.missingMessages).toEqual([{ from: 13n, to: 13n }]);
    expect(missing.danglingLinks).toEqual([at(15).receipt.eventId]);
    expect(verify(events.slice(0, 28), keys, 30n).missingMessages).toEqual([{ from: 29n, to: 30n }]);
    await store.close();
  });

  it('lists, but does not fail on, an entity whose earlier events are not in the stream', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 20, { entities: 2 });
    const events = (await exported(store)).slice(4).map((e, i) => ({ ...e, streamSequence: BigInt(i + 1) }));
    const r = verify(events, [store.publicKey!]);
    expect(r.gaps).toHaveLength(2);
    expect(r.intact).toBe(true);
    await store.close();
  });
});
