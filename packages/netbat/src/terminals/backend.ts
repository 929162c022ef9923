// The terminals' effect backend: performs `bank.commit` appends and confirms declared reads, through one @batpak/core store.
// Invariant: only an intent staged by the bank.commit handler can be appended, and only under the kind it was staged with — the Ctx-observed kind is the stored kind.

import { isBatpakError, type AppendReceipt, type Coordinate, type EventKind, type Store } from '@batpak/core';
import { EffectError, type EffectBackend } from '@batpak/syncbat';
import { randomBytes } from 'node:crypto';
import { encodeHex } from '../hex.js';

/** One commit the handler asked for: where, what kind, which bytes (stored verbatim, raw). */
export interface CommitIntent {
  readonly coordinate: Coordinate;
  readonly kind: EventKind;
  readonly payload: Uint8Array;
  readonly idempotencyKey?: string;
}

interface Staged {
  readonly intent: CommitIntent;
  receipt?: AppendReceipt;
}

function effectFailure(err: unknown): EffectError {
  // Keep the store's stable code in the text: it is what a netbat client sees.
  const reason = isBatpakError(err) ? `${err.code} ${err.message}` : err instanceof Error ? err.message : String(err);
  return new EffectError(reason, { cause: err });
}

/**
 * A syncbat `Ctx.appendEvent(kind, payload)` has no coordinate, and a store append's receipt is not
 * returned through the Ctx. So `bank.commit` stages its intent here and passes the returned ticket as the
 * append payload; the backend appends the staged bytes and keeps the receipt for the handler. The append
 * still goes through the Ctx, so it is observed (as `evt.xxxx`) and checked against the declared row.
 */
export class TerminalEffectBackend implements EffectBackend {
  readonly #store: Store;
  readonly #staged = new Map<string, Staged>();

  constructor(store: Store) {
    this.#store = store;
  }

  /** Stages a commit; the ticket is what the handler hands to `ctx.appendEvent`. */
  stage(intent: CommitIntent): Uint8Array {
    const ticket = randomBytes(16);
    this.#staged.set(encodeHex(ticket), { intent });
    return new Uint8Array(ticket);
  }

  /** The receipt of a staged commit once appended (then forgets the ticket). */
  take(ticket: Uint8Array): AppendReceipt | undefined {
    const key = encodeHex(ticket);
    const staged = this.#staged.get(key);
    this.#staged.delete(key);
    return staged?.receipt;
  }

  async appendEvent(kind: EventKind, ticket: Uint8Array): Promise<void> {
    const staged = this.#staged.get(encodeHex(ticket));
    if (staged === undefined) throw new EffectError('appends must be staged by bank.commit (unknown ticket)');
    const { intent } = staged;
    if (intent.kind.category !== kind.category || intent.kind.typeId !== kind.typeId) {
      throw new EffectError('the observed append kind differs from the staged kind');
    }
    try {
      staged.receipt = await this.#store.appendRaw(
        intent.coordinate,
        intent.kind,
        intent.payload,
        intent.idempotencyKey === undefined ? {} : { idempotencyKey: intent.idempotencyKey },
      );
    } catch (err) {
      throw effectFailure(err);
    }
  }

  /** A declared read: the store must be open and readable (reads themselves go straight to the store). */
  readEvent(category: string): void {
    void category;
    try {
      this.#store.stats();
    } catch (err) {
      throw effectFailure(err);
    }
  }
}
