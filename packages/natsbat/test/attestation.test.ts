// Attestations beside the exported events (INV-NATSBAT-ATTEST), without a server: the exporter's header
// round-trips, and a remote verifier with only the public key proves the stream extends the store's
// signed statement — a lost message, a rewritten event or a foreign key each fail it.
import { attestationToJSON, type Store } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { ExportVerifier, isNatsbatError, JournalExporter, type ExportedEvent } from '../src/index.js';
import { exportReceipts } from '../src/attest.js';
import { decodeExportedMessage, encodeEvent, HEADERS } from '../src/message.js';
import { fill, openStore, SEED } from './helpers/store.js';

/** The store's events as the exporter would publish them, with an attestation on event `attestAt` (index). */
async function exported(store: Store, attestAt: readonly number[]): Promise<ExportedEvent[]> {
  const raws = [];
  for await (const e of store.query()) raws.push(await store.getRaw(e.header.eventId));
  const receipts = await exportReceipts(store, raws);
  const out: ExportedEvent[] = [];
  for (let i = 0; i < raws.length; i++) {
    const att = attestAt.includes(i) ? await store.attest({ through: raws[i]!.header.globalSequence }) : undefined;
    const m = encodeEvent('batpak.t', raws[i]!, receipts[i]!, att);
    const hdr = new Map(m.headers);
    hdr.set(HEADERS.msgId, m.msgId);
    out.push(decodeExportedMessage({ seq: i + 1, subject: m.subject, data: m.payload, headers: { get: (k) => hdr.get(k) ?? '', has: (k) => hdr.has(k) } }));
  }
  return out;
}

function verify(events: readonly ExportedEvent[], keys: readonly Uint8Array[], last = BigInt(events.length)) {
  const v = new ExportVerifier({ publicKeys: keys });
  for (const e of events) v.add(e);
  v.end(last);
  return v.report();
}

describe('attestations in the export (INV-NATSBAT-ATTEST)', () => {
  it('round-trip through the header; the verifier checks each one with only the public key', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 30, { entities: 3 });
    const events = await exported(store, [9, 29]);
    expect(events[9]!.attestation?.globalSequence).toBe(10n);
    expect(events[8]!.attestation).toBeUndefined();
    const r = verify(events, [store.publicKey!]);
    expect(r).toMatchObject({ intact: true, attestationsChecked: 2, attestationFailures: [] });
    await store.close();
  });

  it('a lost message before an attestation, a rewritten event, or a key the verifier does not trust fail it', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 20, { entities: 2 });
    const events = await exported(store, [19]);
    const keys = [store.publicKey!];
    // A lost message (stream sequences renumbered so only the attestation can tell).
    const lost = events.filter((_, i) => i !== 5).map((e, i) => ({ ...e, streamSequence: BigInt(i + 1) }));
    const r1 = verify(lost, keys);
    expect(r1.intact).toBe(false);
    expect(r1.attestationFailures[0]?.reason).toMatch(/holds 19 events up to global sequence 20, the attestation 20/);
    // A receipt rewritten together with its payload hash: the head differs.
    const forged = events.map((e, i) => (i === 3 ? { ...e, receipt: { ...e.receipt, committedAt: e.receipt.committedAt + 1n } } : e));
    expect(verify(forged, keys).attestationFailures[0]?.reason).toMatch(/differ from the attested ones/);
    // Verified with another key only.
    const other = await openStore({ signingKey: new Uint8Array(32).fill(8), seed: 2 });
    expect(verify(events, [other.store.publicKey!]).attestationFailures[0]?.reason).toMatch(/does not verify: keyId/);
    // A verification that starts mid-stream cannot check it, and says so.
    const v = new ExportVerifier({ publicKeys: keys, firstSequence: 5n });
    for (const e of events.slice(4)) v.add(e);
    expect(v.report().attestationFailures[0]?.reason).toMatch(/cannot be checked/);
    await other.store.close();
    await store.close();
  });

  it('a malformed attestation header, or one for another sequence, is a malformed message', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 3);
    const raws = [];
    for await (const e of store.query()) raws.push(await store.getRaw(e.header.eventId));
    const receipts = await exportReceipts(store, raws);
    const att = await store.attest({ through: 1n });
    for (const [i, value] of [
      [0, '{"v":1}'],
      [1, JSON.stringify(attestationToJSON(att))],
    ] as const) {
      const m = encodeEvent('batpak.t', raws[i]!, receipts[i]!);
      const hdr = new Map(m.headers);
      hdr.set(HEADERS.msgId, m.msgId);
      hdr.set(HEADERS.attestation, value);
      let err: unknown;
      try {
        decodeExportedMessage({ seq: 1, subject: m.subject, data: m.payload, headers: { get: (k) => hdr.get(k) ?? '', has: (k) => hdr.has(k) } });
      } catch (e) {
        err = e;
      }
      expect(isNatsbatError(err, 'ERR_MALFORMED_MESSAGE')).toBe(true);
    }
    await store.close();
  });

  it('the exporter refuses attestations for a store without its signing key', async () => {
    const { store } = await openStore();
    const connection = { request: () => undefined } as never;
    let err: unknown;
    try {
      new JournalExporter({ store, connection, name: 'x', attestations: true });
    } catch (e) {
      err = e;
    }
    expect(isNatsbatError(err, 'ERR_INVALID_OPTION')).toBe(true);
    await store.close();
  });
});
