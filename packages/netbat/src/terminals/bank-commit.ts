// `bank.commit`: appends one event of a declared kind at a caller-chosen coordinate and answers with its receipt claim (Rust `hbat` BankCommitRequest/Ack).
// Invariant: an undeclared kind is refused before anything is written — never appended and then denied (INV-NETBAT-TERMINALS).

import { Coordinate, isBatpakError, type AppendReceipt, type EventKind } from '@batpak/core';
import { appendTarget, defineOperation, EffectError, HandlerError, type Operation } from '@batpak/syncbat';
import { NetbatError } from '../errors.js';
import type { TerminalEffectBackend } from './backend.js';
import { decodeRequest, storeFailure } from './handler-support.js';
import { terminalRefs } from './names.js';
import { bankCommitAckCodec, claimOf } from './receipt-claim.js';
import { idBytes, messageCodec, whex, woptHex, wstr, wuint } from './wire.js';
import { encodeHex } from '../hex.js';

/** `bank.commit.request`. */
export interface BankCommitRequest {
  readonly entity: string;
  readonly scope: string;
  readonly kind: EventKind;
  /** Stored verbatim (a raw event); by convention the canonical msgpack of the application payload. */
  readonly payload: Uint8Array;
  /** 32 hex characters; a repeat returns the original receipt and writes nothing. */
  readonly idempotencyKey?: string;
}

export const bankCommitRequestCodec = messageCodec<BankCommitRequest>({
  schemaRef: 'bank.commit.request',
  order: ['entity', 'scope', 'kind_category', 'kind_type_id', 'payload_hex', 'idempotency_key_hex'],
  fields: (v) => [
    ['entity', wstr(v.entity)],
    ['scope', wstr(v.scope)],
    ['kind_category', wuint(v.kind.category)],
    ['kind_type_id', wuint(v.kind.typeId)],
    ['payload_hex', whex(v.payload)],
    ['idempotency_key_hex', woptHex(v.idempotencyKey === undefined ? undefined : idBytes(v.idempotencyKey))],
  ],
  read(r) {
    const key = r.optHex('idempotency_key_hex', 16);
    return {
      entity: r.str('entity'),
      scope: r.str('scope'),
      kind: { category: r.uint('kind_category', 0xf), typeId: r.uint('kind_type_id', 0xfff) },
      payload: r.hex('payload_hex'),
      ...(key === undefined ? {} : { idempotencyKey: encodeHex(key) }),
    };
  },
});

/** The default `commitKinds`: core's generic `DATA` kind (0x1000). */
export const DEFAULT_COMMIT_KINDS: readonly EventKind[] = Object.freeze([Object.freeze({ category: 0x1, typeId: 0x000 })]);

const isReserved = (category: number): boolean => category === 0x0 || category === 0xd;

/** Checks configured commit kinds: user kinds only (categories 0x0 and 0xD belong to the store). */
export function checkCommitKinds(kinds: readonly EventKind[]): readonly EventKind[] {
  if (kinds.length === 0) throw NetbatError.invalidOption('commitKinds must name at least one kind (bank.commit is a persist operation)');
  for (const k of kinds) {
    const ok = Number.isInteger(k.category) && k.category >= 0 && k.category <= 0xf && Number.isInteger(k.typeId) && k.typeId >= 0 && k.typeId <= 0xfff;
    if (!ok || isReserved(k.category)) throw NetbatError.invalidOption(`commitKinds: ${JSON.stringify(k)} is not a user event kind`);
  }
  return kinds;
}

function coordinateOf(entity: string, scope: string): Coordinate {
  try {
    return new Coordinate(entity, scope);
  } catch (err) {
    throw HandlerError.invalidInput(`coordinate: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Persist class; its effect row declares one append target per commit kind (`evt.xxxx`), so the receipt
 * of every commit records exactly which kind was appended, and the Core's observed ⊆ declared check
 * backs the handler's own refusal.
 */
export function bankCommitOperation(
  backend: TerminalEffectBackend,
  commitKinds: readonly EventKind[],
  reservedEntities: ReadonlySet<string> = new Set(),
): Operation {
  return defineOperation({
    name: 'bank.commit',
    effectClass: 'persist',
    ...terminalRefs('bank.commit'),
    effects: { appends: checkCommitKinds(commitKinds) },
    handler: async (input, ctx) => {
      const req = decodeRequest(bankCommitRequestCodec, input);
      if (isReserved(req.kind.category)) {
        throw HandlerError.invalidInput(`event kind: category 0x${req.kind.category.toString(16)} is reserved for the store (0x0 system, 0xD effect)`);
      }
      if (reservedEntities.has(req.entity)) {
        // The receipt stream is written by the runtime only: a client event there would pass for a receipt.
        throw HandlerError.invalidInput(`coordinate: entity ${JSON.stringify(req.entity)} holds the server's receipts`);
      }
      const coordinate = coordinateOf(req.entity, req.scope);
      const target = appendTarget(req.kind);
      const declared = ctx.descriptor.effectRow.appendsEvents;
      if (!declared.includes(target)) {
        throw HandlerError.invalidInput(`event kind: ${target} is not a declared append target of bank.commit (declared: ${declared.join(', ')})`);
      }
      const ticket = backend.stage({
        coordinate,
        kind: req.kind,
        payload: req.payload,
        ...(req.idempotencyKey === undefined ? {} : { idempotencyKey: req.idempotencyKey }),
      });
      let receipt: AppendReceipt | undefined;
      try {
        await ctx.appendEvent(req.kind, ticket);
      } catch (err) {
        const cause = err instanceof EffectError ? err.cause : err;
        throw isBatpakError(cause) ? storeFailure('append', cause) : HandlerError.failed(`append: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      } finally {
        // Read (and forget) the ticket on every path so a failed commit leaves nothing staged.
        receipt = backend.take(ticket);
      }
      if (receipt === undefined) throw HandlerError.failed('append: the store returned no receipt');
      return bankCommitAckCodec.encode(claimOf(receipt));
    },
  });
}
