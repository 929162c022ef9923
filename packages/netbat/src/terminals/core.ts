// The terminal core: the six reference operations over one @batpak/core store, built as a syncbat Core that netbat serves.
// Invariant: every dispatch goes through syncbat's checkout (declared effects, one receipt); netbat never touches the store itself.

import { Coordinate, type EventKind, type Store } from '@batpak/core';
import { CoreBuilder, StoreReceiptSink, type Core, type Operation, type ReceiptSink } from '@batpak/syncbat';
import { NetbatError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { TerminalEffectBackend } from './backend.js';
import { bankCommitOperation, DEFAULT_COMMIT_KINDS } from './bank-commit.js';
import { PAYLOAD_DECRYPT_CAPABILITY } from './names.js';
import { eventGetOperation } from './event-get.js';
import { eventQueryOperation } from './event-query.js';
import { eventWalkOperation } from './event-walk.js';
import { heartbeatOperation } from './heartbeat.js';
import { receiptVerifyOperation } from './receipt-verify.js';

export interface TerminalOptions {
  readonly store: Store;
  /** Kinds `bank.commit` may append; each is declared as an append target. Default `[{ category: 1, typeId: 0 }]`. */
  readonly commitKinds?: readonly EventKind[];
  /** Byte budget of `event.query` / `event.walk` acks: keep it at the server's `limits.maxOutputBytes`. Default 32 KiB. */
  readonly maxOutputBytes?: number;
  /** Clock of `system.heartbeat`, Unix ms. Default `Date.now`. */
  readonly now?: () => number;
  /** Entities `bank.commit` refuses (the receipt entity: createTerminalCore adds it). Default none. */
  readonly reservedEntities?: readonly string[];
}

export interface TerminalCoreOptions extends TerminalOptions {
  /**
   * `'store'` (default): every dispatch banks its syncbat receipt in the store, at `receiptCoordinate`.
   * `'none'`: no receipts (required for a read-only store). Or any ReceiptSink.
   */
  readonly receipts?: 'store' | 'none' | ReceiptSink;
  /** Where `'store'` receipts go. Default entity `netbat:receipts`, scope `netbat`. */
  readonly receiptCoordinate?: Coordinate | { readonly entity: string; readonly scope: string };
}

export const DEFAULT_RECEIPT_COORDINATE = Object.freeze({ entity: 'netbat:receipts', scope: 'netbat' });

/** The six operations and the backend they need, to mount into a CoreBuilder of your own. */
export function terminalOperations(options: TerminalOptions): { readonly operations: readonly Operation[]; readonly backend: TerminalEffectBackend } {
  const { store } = options;
  const budget = options.maxOutputBytes ?? DEFAULT_LIMITS.maxOutputBytes;
  if (!Number.isSafeInteger(budget) || budget < 256) throw NetbatError.invalidOption('maxOutputBytes must be an integer >= 256');
  const backend = new TerminalEffectBackend(store);
  const operations = [
    heartbeatOperation(options.now ?? Date.now),
    eventGetOperation(store),
    eventQueryOperation(store, budget),
    eventWalkOperation(store, budget),
    receiptVerifyOperation(store),
    bankCommitOperation(backend, options.commitKinds ?? DEFAULT_COMMIT_KINDS, new Set(options.reservedEntities ?? [])),
  ];
  return { operations, backend };
}

/** A syncbat Core serving the reference terminals: `createServer({ core: createTerminalCore({ store }) })`. */
export function createTerminalCore(options: TerminalCoreOptions): Core {
  const receipts = options.receipts ?? 'store';
  const receiptEntity = receipts === 'store' ? (options.receiptCoordinate ?? DEFAULT_RECEIPT_COORDINATE).entity : undefined;
  const { operations, backend } = terminalOperations({
    ...options,
    reservedEntities: [...(options.reservedEntities ?? []), ...(receiptEntity === undefined ? [] : [receiptEntity])],
  });
  // The host may decrypt; which network caller may is decided per caller (netbat grants), never here.
  const builder = new CoreBuilder().effectBackend(backend).grantCapability(PAYLOAD_DECRYPT_CAPABILITY);
  for (const op of operations) builder.register(op);
  if (receipts === 'none') {
    builder.withoutReceipts();
  } else if (receipts === 'store') {
    if (options.store.readOnly) throw NetbatError.invalidOption("a read-only store cannot bank receipts: pass receipts: 'none'");
    builder.receiptSink(new StoreReceiptSink(options.store, options.receiptCoordinate ?? DEFAULT_RECEIPT_COORDINATE));
  } else {
    builder.receiptSink(receipts);
  }
  return builder.build();
}
