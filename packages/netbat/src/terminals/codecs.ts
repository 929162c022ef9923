// The terminal message table: for each operation, the codec of its request and of its ack — what any client needs to speak to a terminal core.
// Invariant: one codec per schema ref; the table's keys are exactly TERMINAL_OPERATIONS.

import { bankCommitRequestCodec, type BankCommitRequest } from './bank-commit.js';
import { eventGetAckCodec, eventGetRequestCodec, type EventGetAck, type EventGetRequest } from './event-get.js';
import { eventQueryAckCodec, eventQueryRequestCodec, type EventQueryAck, type EventQueryRequest } from './event-query.js';
import { eventWalkAckCodec, eventWalkRequestCodec, type EventWalkAck, type EventWalkRequest } from './event-walk.js';
import { heartbeatAckCodec, heartbeatRequestCodec, type HeartbeatAck, type HeartbeatRequest } from './heartbeat.js';
import type { TerminalOperation } from './names.js';
import { bankCommitAckCodec, receiptVerifyRequestCodec, type ReceiptClaim } from './receipt-claim.js';
import { receiptVerifyAckCodec, type ReceiptVerifyAck } from './receipt-verify.js';
import type { MessageCodec } from './wire.js';

/** Request and ack types of every terminal operation. */
export interface TerminalMessages {
  'system.heartbeat': { request: HeartbeatRequest; ack: HeartbeatAck };
  'event.get': { request: EventGetRequest; ack: EventGetAck };
  'event.query': { request: EventQueryRequest; ack: EventQueryAck };
  'event.walk': { request: EventWalkRequest; ack: EventWalkAck };
  'receipt.verify': { request: ReceiptClaim; ack: ReceiptVerifyAck };
  'bank.commit': { request: BankCommitRequest; ack: ReceiptClaim };
}

export type TerminalRequest<Op extends TerminalOperation> = TerminalMessages[Op]['request'];
export type TerminalAck<Op extends TerminalOperation> = TerminalMessages[Op]['ack'];

export type TerminalCodecs = {
  readonly [Op in TerminalOperation]: { readonly request: MessageCodec<TerminalRequest<Op>>; readonly ack: MessageCodec<TerminalAck<Op>> };
};

export const TERMINAL_CODECS: TerminalCodecs = Object.freeze({
  'system.heartbeat': { request: heartbeatRequestCodec, ack: heartbeatAckCodec },
  'event.get': { request: eventGetRequestCodec, ack: eventGetAckCodec },
  'event.query': { request: eventQueryRequestCodec, ack: eventQueryAckCodec },
  'event.walk': { request: eventWalkRequestCodec, ack: eventWalkAckCodec },
  'receipt.verify': { request: receiptVerifyRequestCodec, ack: receiptVerifyAckCodec },
  'bank.commit': { request: bankCommitRequestCodec, ack: bankCommitAckCodec },
});
