// Export receipts: the receipt of each committed event as the store itself would judge it, re-signed
// per export batch when it was committed signed. Invariant: every receipt published is one the origin
// store calls 'signed' or 'unsigned-accepted' (store.verifyReceipt), never a guess (INV-NATSBAT-RECEIPT-COVER).

import { isSigned, verifyReceiptClaim, type AppendReceipt, type RawEvent, type ReceiptSigner, type Store } from '@batpak/core';
import { groupMessage, keyIdOf, merkleTree, receiptCover } from './cover.js';
import { NatsbatError, reasonOf } from './errors.js';

/**
 * @batpak/core keeps no receipt on disk: it rebuilds one from the frame and the commit group's seal, and
 * exposes that only to `append`. What the public API does expose is `store.verifyReceipt`, which
 * compares every field with the committed event and then applies the signature table. Asking it about
 * the unsigned receipt answers both questions an exporter has:
 *   'unsigned-accepted'      → the event was committed unsigned; its receipt is exactly these fields;
 *   invalid at `signature:`  → every field matched, and the event was committed signed: sign it again
 *                              with the store's key, as core does for an idempotent repeat;
 *   invalid at anything else → the fields differ (today: receipt extensions, which the public API does
 *                              not show) — refuse rather than publish a receipt that would not verify.
 */
function baseOf(e: RawEvent): AppendReceipt {
  const h = e.header;
  return {
    eventId: h.eventId,
    globalSequence: h.globalSequence,
    entitySequence: h.entitySequence,
    kind: { category: h.kind.category, typeId: h.kind.typeId },
    coordinate: { entity: e.coordinate.entity, scope: e.coordinate.scope },
    contentHash: h.contentHash,
    prevHash: h.prevHash,
    committedAt: h.committedAt,
  };
}

/** Receipts for `events` (one export batch, commit order); the signed ones share one group signature. */
export async function exportReceipts(store: Store, events: readonly RawEvent[], signer: ReceiptSigner | undefined): Promise<AppendReceipt[]> {
  const receipts = events.map(baseOf);
  const toSign: number[] = [];
  for (let i = 0; i < receipts.length; i++) {
    const r = receipts[i]!;
    const verdict = await store.verifyReceipt(r);
    if (verdict.status === 'unsigned-accepted') continue;
    if (verdict.status === 'invalid' && verdict.reason?.startsWith('signature:') === true) {
      toSign.push(i);
      continue;
    }
    throw NatsbatError.RECEIPT_UNAVAILABLE(
      `the receipt of event ${r.eventId} cannot be rebuilt through @batpak/core's public API (${verdict.reason ?? verdict.status}); ` +
        'events with receipt extensions cannot be exported yet',
      { details: { eventId: r.eventId, globalSequence: r.globalSequence } },
    );
  }
  if (toSign.length === 0) return receipts;
  if (signer === undefined) {
    const first = receipts[toSign[0]!]!;
    throw NatsbatError.RECEIPT_UNAVAILABLE(`event ${first.eventId} was committed signed: pass the store's signingKey or signer to the exporter`, {
      details: { eventId: first.eventId, globalSequence: first.globalSequence },
    });
  }
  const tree = merkleTree(toSign.map((i) => receiptCover(receipts[i]!)));
  let signature: Uint8Array;
  let publicKey: Uint8Array;
  try {
    signature = signer.sign(groupMessage(tree.root));
    publicKey = signer.publicKey;
  } catch (err) {
    throw NatsbatError.RECEIPT_UNAVAILABLE(`the receipt signer failed: ${reasonOf(err)}`, { cause: err });
  }
  const keyId = keyIdOf(publicKey);
  toSign.forEach((i, leaf) => {
    receipts[i] = { ...receipts[i]!, signature, keyId, groupProof: tree.proof(leaf) };
  });
  // The batch shares one signature, so checking its first and last receipt (two different proof paths)
  // is checking the signature: store-less, it catches a cover that drifted from FORMAT.md; by the store,
  // a key the store does not accept (whose receipts would not verify remotely). Every field of every
  // receipt was already compared with the committed event above.
  const first = receipts[toSign[0]!]!;
  if (!isSigned(verifyReceiptClaim(first, [publicKey]))) {
    throw NatsbatError.RECEIPT_UNAVAILABLE('a re-signed receipt does not verify with the signer\'s public key (is the signer ed25519?)', {
      details: { eventId: first.eventId },
    });
  }
  for (const i of new Set([toSign[0]!, toSign[toSign.length - 1]!])) {
    const verdict = await store.verifyReceipt(receipts[i]!);
    if (verdict.status !== 'signed') {
      throw NatsbatError.RECEIPT_UNAVAILABLE(`the store rejects the re-signed receipt of ${receipts[i]!.eventId}: ${verdict.reason ?? verdict.status} (is the signer the store's key?)`, {
        details: { eventId: receipts[i]!.eventId },
      });
    }
  }
  return receipts;
}
