// decodeExportedPayload: a consumer's view of an exported payload — decoded, upcast and validated with
// the consumer's registry like the store's own reads; never decrypted (keys stay with the primary).
import { Coordinate, defineEvent, EventRegistry, isBatpakError, type Store } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { decodeExportedPayload, type ExportedEvent } from '../src/index.js';
import { Deposited, openStore } from './helpers/store.js';

async function exportedOf(store: Store, eventId: string): Promise<ExportedEvent> {
  const raw = await store.getRaw(eventId);
  return {
    streamSequence: 1n,
    subject: 'batpak.t.x',
    msgId: 'm',
    receipt: await store.receipt(eventId),
    payload: raw.bytes,
    payloadVersion: raw.header.payloadVersion,
    raw: raw.header.raw,
    encrypted: raw.header.encrypted,
    tombstone: raw.header.tombstone,
  };
}

const coord = new Coordinate('a:1', 's');

describe('decodeExportedPayload', () => {
  it('gives what the store reads for JSON-like payloads, upcast with the registry', async () => {
    const { store } = await openStore();
    const value = { amount: 7, note: 'ü €', nested: [1, -2, 3.5, null, true, { x: 'y' }], big: 2 ** 40, huge: 2n ** 63n - 1n, bytes: new Uint8Array([0, 255]) };
    const r = await store.append(coord, Deposited, value as never);
    const e = await exportedOf(store, r.eventId);
    const stored = (await store.get(r.eventId))!.payload;
    expect(decodeExportedPayload(e, undefined)).toEqual(stored);
    const V2 = defineEvent<unknown>({ category: 0x1, typeId: 1, version: 2, upcasters: { 1: (v) => ({ ...(v as object), v: 2 }) } });
    expect(decodeExportedPayload(e, new EventRegistry([V2]))).toEqual({ ...(stored as object), v: 2 });
    await store.close();
  });

  it('documented difference from the store: a bigint small enough to be a safe integer comes back as a number', async () => {
    const { store } = await openStore();
    const r = await store.append(coord, Deposited, { amount: 5n } as never);
    expect((await store.get(r.eventId))!.payload).toEqual({ amount: 5n });
    expect(decodeExportedPayload(await exportedOf(store, r.eventId), undefined)).toEqual({ amount: 5 });
    await store.close();
  });

  it('refuses a future payload version and a failed validate with core\'s codes; raw is bytes, encrypted and tombstones are undefined', async () => {
    const { store } = await openStore();
    const r = await store.append(coord, Deposited, { amount: 1 });
    const e = await exportedOf(store, r.eventId);
    const code = (f: () => unknown) => {
      try {
        f();
        return 'ok';
      } catch (err) {
        return isBatpakError(err) ? err.code : String(err);
      }
    };
    expect(code(() => decodeExportedPayload({ ...e, payloadVersion: 3 }, new EventRegistry([Deposited])))).toBe('ERR_FUTURE_PAYLOAD_VERSION');
    const Strict = defineEvent<{ amount: number }>({ category: 0x1, typeId: 1, validate: (v): v is { amount: number } => (v as { amount: number }).amount > 5 });
    expect(code(() => decodeExportedPayload(e, new EventRegistry([Strict])))).toBe('ERR_INVALID_PAYLOAD');
    const Gapped = { ...defineEvent<unknown>({ category: 0x1, typeId: 1, version: 2, upcasters: { 1: (v) => v } }), upcasters: {} };
    expect(code(() => decodeExportedPayload(e, new EventRegistry([Gapped])))).toBe('ERR_UPCAST_CHAIN_INCOMPLETE');
    expect(code(() => decodeExportedPayload({ ...e, payload: new Uint8Array([0xc1]) }, undefined))).toBe('ERR_INVALID_PAYLOAD');
    expect(decodeExportedPayload({ ...e, raw: true }, undefined)).toBe(e.payload);
    expect(decodeExportedPayload({ ...e, encrypted: true }, undefined)).toBeUndefined();
    expect(decodeExportedPayload({ ...e, tombstone: true, payload: new Uint8Array(0) }, undefined)).toBeUndefined();
    expect(decodeExportedPayload(e, undefined, () => 'custom')).toBe('custom');
    await store.close();
  });
});
