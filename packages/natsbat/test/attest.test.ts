// Export receipts (INV-NATSBAT-RECEIPT-COVER): re-signed receipts verify with core's store-less check and
// with the origin store; unsigned stores give unsigned receipts; what cannot be rebuilt is refused.
import { Coordinate, isSigned, verifyReceiptClaim, type RawEvent, type Store } from '@batpak/core';
import { describe, expect, it } from 'vitest';
import { isNatsbatError, signerFromSeed } from '../src/index.js';
import { exportReceipts } from '../src/attest.js';
import { decodeExportedMessage, encodeEvent, HEADERS, msgIdOf } from '../src/message.js';
import { Deposited, fill, openStore, SEED } from './helpers/store.js';

async function raws(store: Store): Promise<RawEvent[]> {
  const out: RawEvent[] = [];
  for await (const e of store.query()) out.push(await store.getRaw(e.header.eventId));
  return out;
}

async function expectNatsbat(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isNatsbatError(err), String(err)).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

describe('export receipts — INV-NATSBAT-RECEIPT-COVER', () => {
  it('re-signs a signed store\'s receipts as one group that verifies with only the public key and with the store', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 37);
    const events = await raws(store);
    const receipts = await exportReceipts(store, events, signerFromSeed(SEED));
    expect(receipts).toHaveLength(37);
    for (const r of receipts) {
      expect(r.signature).toBeInstanceOf(Uint8Array);
      expect(verifyReceiptClaim(r, [store.publicKey!]).status).toBe('signed');
      expect((await store.verifyReceipt(r)).status).toBe('signed');
    }
    // One group: every receipt carries the same signature and its own proof.
    expect(new Set(receipts.map((r) => Buffer.from(r.signature!).toString('hex'))).size).toBe(1);
    expect(receipts[36]!.groupProof!.index).toBe(36);
    // Tampering with any covered field breaks the signature.
    const forged = { ...receipts[3]!, committedAt: receipts[3]!.committedAt + 1n };
    expect(isSigned(verifyReceiptClaim(forged, [store.publicKey!]))).toBe(false);
    await store.close();
  });

  it('gives the unsigned receipt of a keyless store', async () => {
    const { store } = await openStore();
    await fill(store, 5);
    const receipts = await exportReceipts(store, await raws(store), undefined);
    for (const r of receipts) {
      expect(r.signature).toBeUndefined();
      expect(verifyReceiptClaim(r, []).status).toBe('unsigned-accepted');
    }
    await store.close();
  });

  it('refuses without the store\'s key, with another key, and for events with receipt extensions', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 3);
    await expectNatsbat(exportReceipts(store, await raws(store), undefined), 'ERR_RECEIPT_UNAVAILABLE');
    await expectNatsbat(exportReceipts(store, await raws(store), signerFromSeed(new Uint8Array(32).fill(9))), 'ERR_RECEIPT_UNAVAILABLE');
    await store.append(new Coordinate('account:x', 'bank'), Deposited, { amount: 1 }, { extensions: { 'app.note': new Uint8Array([1]) } });
    const all = await raws(store);
    await expectNatsbat(exportReceipts(store, all.slice(-1), signerFromSeed(SEED)), 'ERR_RECEIPT_UNAVAILABLE');
    await store.close();
  });
});

describe('wire mapping', () => {
  it('round-trips receipt, payload and flags, and keeps msgIDs unique when payloads are equal', async () => {
    const { store } = await openStore({ signingKey: SEED });
    await fill(store, 10, { entities: 2 });
    const events = await raws(store);
    const receipts = await exportReceipts(store, events, signerFromSeed(SEED));
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
    const [a, b] = (await exportReceipts(store, events, undefined)).map((r, i) => encodeEvent('batpak.t', events[i]!, r));
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
