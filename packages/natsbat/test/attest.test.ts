// Export receipts (INV-NATSBAT-RECEIPT-COVER): the exported receipt of every event is the receipt append
// returned — the original group signature and proof of multi-event commit groups, extensions and signing
// downgrades included — read back through store.receipt, with or without the store's key.
import { Coordinate, isBatpakError, isSigned, Store, verifyReceiptClaim, type AppendReceipt, type RawEvent, type ReceiptSigner } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { isNatsbatError } from '../src/index.js';
import { exportReceipts } from '../src/attest.js';
import { decodeExportedMessage, encodeEvent, HEADERS, msgIdOf } from '../src/message.js';
import { Deposited, fill, openStore, SEED } from './helpers/store.js';

async function raws(store: Store): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  for await (const e of store.query()) out.push(await store.getRaw(e.header.eventId));
  return out;
}

const hex = (b: Uint8Array | undefined) => (b === undefined ? '' : Buffer.from(b).toString('hex'));

/** A signer whose HSM is offline: with signingDowngradeAllowed, events are committed unsigned, marked. */
function offlineSigner(publicKey: Uint8Array): ReceiptSigner {
  return {
    publicKey,
    sign: () => {
      throw new Error('HSM offline');
    },
  };
}

describe('export receipts — INV-NATSBAT-RECEIPT-COVER', () => {
  it('are exactly the receipts append returned, for events in multi-event commit groups too, and verify with only the public key and with the store', async () => {
    const { store } = await openStore({ signingKey: SEED });
    const appended = await fill(store, 37, { group: 12 });
    // And concurrent appends, grouped however the committer takes them.
    appended.push(...(await Promise.all([0, 1, 2, 3, 4].map((i) => store.append(new Coordinate(`account:c${i}`, 'bank'), Deposited, { amount: i })))));
    const receipts = await exportReceipts(store, await raws(store));
    expect(receipts).toHaveLength(42);
    expect(receipts).toEqual(appended);
    // Multi-event groups: receipts share their group's signature and differ in their proofs.
    const groups = new Map<string, AppendReceipt[]>();
    for (const r of receipts) groups.set(hex(r.signature), [...(groups.get(hex(r.signature)) ?? []), r]);
    expect([...groups.values()].map((g) => g.length).sort((a, b) => b - a).slice(0, 3)).toEqual([12, 12, 12]);
    expect(receipts[11]!.groupProof).toMatchObject({ index: 11 });
    expect(receipts[11]!.groupProof!.siblings.length).toBeGreaterThan(1);
    for (const r of receipts) {
      expect(verifyReceiptClaim(r, [store.publicKey!]).status).toBe('signed');
      expect((await store.verifyReceipt(r)).status).toBe('signed');
    }
    // Tampering with any covered field breaks the signature.
    const forged = { ...receipts[3]!, committedAt: receipts[3]!.committedAt + 1n };
    expect(isSigned(verifyReceiptClaim(forged, [store.publicKey!]))).toBe(false);
    await store.close();
  });

  it('a signed store reopened without its key still exports its signed receipts', async () => {
    const { store, fs } = await openStore({ signingKey: SEED });
    const appended = await fill(store, 30, { group: 8 });
    const publicKey = store.publicKey!;
    await store.close();
    // A keyless writer on a signed store must opt in (INV-SIGNED-STORE-UNSIGNED-EVENT); receipts need no key.
    const { store: keyless } = await openStore({ fs, allowUnsignedAfterSigned: true });
    expect(keyless.publicKey).toBeUndefined();
    const receipts = await exportReceipts(keyless, await raws(keyless));
    expect(receipts).toEqual(appended);
    for (const r of receipts) expect(verifyReceiptClaim(r, [publicKey]).status).toBe('signed');
    await keyless.close();
  });

  it('exports events with receipt extensions and signing downgrades, extensions included', async () => {
    const note = new Uint8Array([1, 2, 3]);
    const { store, fs } = await openStore({ signingKey: SEED });
    const appended = await fill(store, 4, { group: 2 });
    // A signed event with an application extension, committed in a group with an event without one.
    appended.push(
      ...(await Promise.all([
        store.append(new Coordinate('account:x', 'bank'), Deposited, { amount: 1 }, { extensions: { 'app.note': note } }),
        store.append(new Coordinate('account:y', 'bank'), Deposited, { amount: 2 }),
      ])),
    );
    const publicKey = store.publicKey!;
    await store.close();
    // Reopened while the HSM is offline: the next events are committed unsigned, with a downgrade extension.
    const { store: down } = await openStore({ fs, signer: offlineSigner(publicKey), signingDowngradeAllowed: true, onWarning: () => undefined });
    appended.push(
      ...(await Promise.all([
        down.append(new Coordinate('account:x', 'bank'), Deposited, { amount: 3 }),
        down.append(new Coordinate('account:z', 'bank'), Deposited, { amount: 4 }, { extensions: { 'app.note': note } }),
      ])),
    );
    const receipts = await exportReceipts(down, await raws(down));
    expect(receipts).toEqual(appended);
    expect(receipts[4]!.extensions?.get('app.note')).toEqual(note);
    expect(receipts[4]!.signature).toBeInstanceOf(Uint8Array);
    for (const r of receipts.slice(0, 6)) expect(verifyReceiptClaim(r, [publicKey]).status).toBe('signed');
    for (const r of receipts.slice(6)) {
      expect(r.signature).toBeUndefined();
      expect(new TextDecoder().decode(r.extensions?.get('batpak.signing.downgrade'))).toContain('HSM offline');
      expect(verifyReceiptClaim(r, []).status).toBe('unsigned-accepted');
    }
    expect(receipts[7]!.extensions?.get('app.note')).toEqual(note);
    for (const r of receipts) expect(['signed', 'unsigned-accepted']).toContain((await down.verifyReceipt(r)).status);
    await down.close();
  });

  it('gives the unsigned receipt of a keyless store', async () => {
    const { store } = await openStore();
    const appended = await fill(store, 5);
    const receipts = await exportReceipts(store, await raws(store));
    expect(receipts).toEqual(appended);
    for (const r of receipts) {
      expect(r.signature).toBeUndefined();
      expect(verifyReceiptClaim(r, []).status).toBe('unsigned-accepted');
    }
    await store.close();
  });

  it("passes the store's own error through when it cannot give a receipt", async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 3);
    const events = await raws(store);
    await store.close();
    const err = await exportReceipts(store, events).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isBatpakError(err, 'ERR_STORE_CLOSED'), String(err)).toBe(true);
  });
});

describe('wire mapping', () => {
  it('round-trips receipt, payload and flags, and keeps msgIDs unique when payloads are equal', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 10, { entities: 2 });
    const events = await raws(store);
    const receipts = await exportReceipts(store, events);
    // Events 0 and 5 have the same payload ({ amount: 0 }), hence the same content hash…
    expect(Buffer.from(events[0]!.header.contentHash).equals(Buffer.from(events[5]!.header.contentHash))).toBe(true);
    const msgs = events.map((e, i) => encodeEvent('batpak.t', e, receipts[i]!));
    // …but different msgIDs, so JetStream's duplicate window cannot drop the second.
    expect(new Set(msgs.map((m) => m.msgId)).size).toBe(10);
    msgs.forEach((m, i) => {
      const hdr = new Map<string, string>([...m.headers, [HEADERS.msgId, m.msgId]]);
      const back = decodeExportedMessage({ seq: i + 1, subject: m.subject, data: m.payload, headers: { get: (k) => hdr.get(k) ?? '', has: (k) => hdr.has(k) } });
      expect(back.receipt).toEqual(receipts[i]);
      expect(back.payload).toEqual(events[i]!.bytes);
      expect(back.streamSequence).toBe(BigInt(i + 1));
      expect(back.msgId).toBe(msgIdOf(events[i]!.header.eventId, events[i]!.header.contentHash));
      expect([back.raw, back.encrypted, back.tombstone]).toEqual([false, false, false]);
    });
    await store.close();
  });

  it('refuses a message whose headers disagree or that sits on another entity\'s subject', async () => {
    const { store } = await openStore();
    await fill(store, 2, { entities: 2 });
    const events = await raws(store);
    const [a, b] = (await exportReceipts(store, events)).map((r, i) => encodeEvent('batpak.t', events[i]!, r));
    const asIncoming = (m: typeof a, patch: Record<string, string> = {}, subject = m!.subject) => {
      const hdr = new Map<string, string>([...m!.headers, [HEADERS.msgId, m!.msgId], ...Object.entries(patch)]);
      return { seq: 1, subject, data: m!.payload, headers: { get: (k: string) => hdr.get(k) ?? '', has: (k: string) => hdr.has(k) } };
    };
    const malformed = (m: ReturnType<typeof asIncoming>) => {
      try {
        decodeExportedMessage(m);
        return 'decoded';
      } catch (err) {
        return isNatsbatError(err, 'ERR_MALFORMED_MESSAGE') ? 'malformed' : String(err);
      }
    };
    expect(malformed(asIncoming(a))).toBe('decoded');
    expect(malformed(asIncoming(a, { [HEADERS.format]: '2' }))).toBe('malformed');
    expect(malformed(asIncoming(a, { [HEADERS.msgId]: b!.msgId }))).toBe('malformed');
    expect(malformed(asIncoming(a, { [HEADERS.prevHash]: '00' }))).toBe('malformed');
    expect(malformed(asIncoming(a, { [HEADERS.receipt]: '{' }))).toBe('malformed');
    expect(malformed(asIncoming(a, { [HEADERS.payloadFlags]: 'raw,zipped' }))).toBe('malformed');
    expect(malformed(asIncoming(a, {}, b!.subject))).toBe('malformed');
    await store.close();
  });
});
