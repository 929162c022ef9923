// `receipt.verify`: checks a receipt claim against the committed event and the store's signing keys (Rust `hbat` ReceiptVerifyRequest/Ack).
// Invariant: a bad claim is an answer (`valid: false` + a stable reason code), never a handler failure; only a broken store fails (INV-NETBAT-TERMINALS).

import { BatpakError, isBatpakError, type AppendReceipt, type RawEvent, type ReceiptVerdict, type Store } from '@batpak/core';
import { defineOperation, type Operation } from '@batpak/syncbat';
import { decodeRequest, storeFailure } from './handler-support.js';
import { STORE_EVENTS_READ, terminalRefs } from './names.js';
import { receiptVerifyRequestCodec, type ReceiptClaim } from './receipt-claim.js';
import { messageCodec, wbool, woptStr, wstr } from './wire.js';

export type ReceiptVerifyOutcome = 'signed' | 'unsigned_accepted' | 'invalid';

/** `receipt.verify.ack`. */
export interface ReceiptVerifyAck {
  readonly valid: boolean;
  readonly outcome: ReceiptVerifyOutcome;
  /** Stable snake-case code when invalid (Rust's `reason_code` vocabulary where one applies). */
  readonly reasonCode?: string;
  /** TS extension (wire field `reason`, only when invalid): core's verdict text, first disagreeing field first. */
  readonly reason?: string;
}

const OUTCOMES: ReadonlySet<string> = new Set(['signed', 'unsigned_accepted', 'invalid']);

export const receiptVerifyAckCodec = messageCodec<ReceiptVerifyAck>({
  schemaRef: 'receipt.verify.ack',
  order: ['valid', 'outcome', 'reason_code', 'reason'],
  fields: (v) => [
    ['valid', wbool(v.valid)],
    ['outcome', wstr(v.outcome)],
    ['reason_code', woptStr(v.reasonCode)],
    ...(v.reason === undefined ? [] : [['reason', wstr(v.reason)] as const]),
  ],
  read(r) {
    const outcome = r.str('outcome');
    if (!OUTCOMES.has(outcome)) throw new BatpakError('ERR_INVALID_ARGUMENT', `receipt.verify.ack: unknown outcome ${JSON.stringify(outcome)}`);
    const reasonCode = r.optStr('reason_code');
    const reason = r.optStr('reason');
    return {
      valid: r.bool('valid'),
      outcome: outcome as ReceiptVerifyOutcome,
      ...(reasonCode === undefined ? {} : { reasonCode }),
      ...(reason === undefined ? {} : { reason }),
    };
  },
});

/** Core's verdict reason (`<field>: <why>`) as Rust's ReceiptVerificationError code. */
export function reasonCodeOf(reason: string): string {
  const [field = '', why = ''] = reason.split(/:\s*/, 2);
  switch (field) {
    case 'eventId':
      return why.startsWith('no committed event') ? 'missing_committed_event' : 'event_id_mismatch';
    case 'globalSequence':
      return 'sequence_mismatch';
    case 'contentHash':
      return 'content_hash_mismatch';
    case 'extensions':
      return 'extensions_mismatch';
    case 'keyId':
      // Rust sends 64 zero hex for "no key": a signature with it is `zero_key_with_signature`.
      return why.startsWith('missing') ? 'zero_key_with_signature' : 'unknown_signing_key';
    case 'signature':
      if (why.startsWith('unsigned receipt rejected')) return 'unsigned_receipt_rejected';
      if (why.startsWith('missing')) return 'missing_signature';
      return 'invalid_signature';
    case 'groupProof':
      return 'invalid_group_proof';
    default:
      return why === 'malformed' ? 'malformed_receipt' : `${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_mismatch`;
  }
}

function ackOf(verdict: ReceiptVerdict): ReceiptVerifyAck {
  if (verdict.status === 'signed') return { valid: true, outcome: 'signed' };
  if (verdict.status === 'unsigned-accepted') return { valid: true, outcome: 'unsigned_accepted' };
  const reason = verdict.reason ?? 'invalid';
  return { valid: false, outcome: 'invalid', reasonCode: reasonCodeOf(reason), reason };
}

/**
 * The full core receipt a claim stands for. The claim carries Rust's fields; the rest of the signed cover
 * (entity sequence, kind, coordinate, prev hash, commit time) is taken from the committed event, as
 * Rust's wire verification does, so the verdict is about exactly what the client claimed.
 */
function receiptOf(claim: ReceiptClaim, committed: RawEvent): AppendReceipt {
  const h = committed.header;
  return {
    eventId: claim.eventId,
    globalSequence: claim.sequence,
    entitySequence: h.entitySequence,
    kind: h.kind,
    coordinate: { entity: committed.coordinate.entity, scope: committed.coordinate.scope },
    contentHash: claim.contentHash,
    prevHash: h.prevHash,
    committedAt: h.committedAt,
    ...(claim.signature === undefined ? {} : { signature: claim.signature }),
    ...(claim.keyId === undefined ? {} : { keyId: claim.keyId }),
    ...(claim.groupProof === undefined ? {} : { groupProof: claim.groupProof }),
    ...(claim.extensions.size === 0 ? {} : { extensions: claim.extensions }),
  };
}

/** Inspect class; declares and records one read of the store's events. */
export function receiptVerifyOperation(store: Store): Operation {
  return defineOperation({
    name: 'receipt.verify',
    effectClass: 'inspect',
    ...terminalRefs('receipt.verify'),
    effects: { reads: [STORE_EVENTS_READ] },
    handler: async (input, ctx) => {
      const claim = decodeRequest(receiptVerifyRequestCodec, input);
      await ctx.readEvent(STORE_EVENTS_READ);
      let committed: RawEvent;
      try {
        committed = await store.getRaw(claim.eventId);
      } catch (err) {
        if (isBatpakError(err, 'ERR_NOT_FOUND')) {
          return receiptVerifyAckCodec.encode({ valid: false, outcome: 'invalid', reasonCode: 'missing_committed_event', reason: 'eventId: no committed event has this id' });
        }
        throw storeFailure('read event', err);
      }
      let verdict: ReceiptVerdict;
      try {
        verdict = await store.verifyReceipt(receiptOf(claim, committed));
      } catch (err) {
        throw storeFailure('verify receipt', err);
      }
      return receiptVerifyAckCodec.encode(ackOf(verdict));
    },
  });
}
