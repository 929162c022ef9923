// Ctx: the only path from a handler to effects. Each handle performs through the backend, then records.
// Invariant: observe-after-perform — an effect is recorded only once it succeeded; once sealed, nothing new starts.

import type { EventKind } from '@batpak/core';
import type { OperationDescriptor } from './descriptor.js';
import { EffectError, UNSUPPORTED_EFFECT, type EffectBackend } from './effect-backend.js';
import { appendTarget, EffectRow } from './effect-row.js';

/** Two drawers of receipt metadata: `signed` is covered by the store's signature, `local` is diagnostics. */
export interface ReceiptMetadata {
  readonly signed: ReadonlyMap<string, Uint8Array>;
  readonly local: ReadonlyMap<string, Uint8Array>;
}

/** What a handler (and the admission guard) gets for one invocation. Dead once the handler settles. */
export interface Ctx {
  readonly descriptor: OperationDescriptor;
  /** The dispatch signal (never aborted when the caller gave none): stop early, then throw. */
  readonly signal: AbortSignal;
  /** Effects performed so far, as recorded by the handles. */
  readonly observed: EffectRow;
  /** Insert or overwrite a signed-drawer entry (correlation or attempt ids). */
  attachSigned(key: string, value: Uint8Array): void;
  /** Insert or overwrite a local-drawer entry. */
  attachLocal(key: string, value: Uint8Array): void;
  readEvent(category: string): Promise<void>;
  /** `kind` as `{ category, typeId }` or its raw u16; recorded as {@link appendTarget}(kind). */
  appendEvent(kind: EventKind | number, payload: Uint8Array): Promise<void>;
  queryProjection(projectionId: string): Promise<void>;
  /** Emits through the backend, then stamps `payload` into the local drawer at `syncbat.emit_receipt.{kind}`. */
  emitReceipt(receiptKind: string, payload: Uint8Array): Promise<void>;
  useHostControl(controlId: string): Promise<void>;
}

const NEVER_ABORTED = new AbortController().signal;

function toKind(kind: EventKind | number): EventKind {
  if (typeof kind === 'number') {
    if (!Number.isInteger(kind) || kind < 0 || kind > 0xffff) throw new TypeError(`event kind must be a u16, got ${kind}`);
    return Object.freeze({ category: kind >>> 12, typeId: kind & 0xfff });
  }
  if (typeof kind !== 'object' || kind === null) throw new TypeError('event kind must be { category, typeId } or a u16');
  return kind;
}

function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array`);
  return value;
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  return value;
}

/** The runtime's Ctx. Internal: the Core creates one per checkout and seals it when the handler settles. */
export class InvocationContext implements Ctx {
  readonly descriptor: OperationDescriptor;
  readonly signal: AbortSignal;
  readonly #backend: EffectBackend | undefined;
  #observed = EffectRow.empty();
  readonly #signed = new Map<string, Uint8Array>();
  readonly #local = new Map<string, Uint8Array>();
  readonly #inflight = new Set<Promise<void>>();
  #sealed = false;

  constructor(descriptor: OperationDescriptor, backend: EffectBackend | undefined, signal: AbortSignal | undefined) {
    this.descriptor = descriptor;
    this.#backend = backend;
    this.signal = signal ?? NEVER_ABORTED;
  }

  get observed(): EffectRow {
    return this.#observed;
  }

  attachSigned(key: string, value: Uint8Array): void {
    this.#assertOpen();
    this.#signed.set(checkString(key, 'drawer key'), new Uint8Array(checkBytes(value, 'drawer value')));
  }

  attachLocal(key: string, value: Uint8Array): void {
    this.#assertOpen();
    this.#local.set(checkString(key, 'drawer key'), new Uint8Array(checkBytes(value, 'drawer value')));
  }

  readEvent(category: string): Promise<void> {
    checkString(category, 'event category');
    return this.#perform(
      'read events',
      (b) => (b.readEvent === undefined ? unsupported('readEvent') : b.readEvent(category)),
      () => (this.#observed = this.#observed.readsEvent(category)),
    );
  }

  appendEvent(kind: EventKind | number, payload: Uint8Array): Promise<void> {
    const k = toKind(kind);
    const bytes = new Uint8Array(checkBytes(payload, 'event payload'));
    return this.#perform(
      'append events',
      (b) => b.appendEvent(k, bytes),
      () => (this.#observed = this.#observed.appendsEvent(appendTarget(k))),
    );
  }

  queryProjection(projectionId: string): Promise<void> {
    checkString(projectionId, 'projection id');
    return this.#perform(
      'query projections',
      (b) => (b.queryProjection === undefined ? unsupported('queryProjection') : b.queryProjection(projectionId)),
      () => (this.#observed = this.#observed.queriesProjection(projectionId)),
    );
  }

  emitReceipt(receiptKind: string, payload: Uint8Array): Promise<void> {
    checkString(receiptKind, 'receipt kind');
    const bytes = new Uint8Array(checkBytes(payload, 'receipt payload'));
    return this.#perform(
      'emit receipts',
      (b) => (b.emitReceipt === undefined ? unsupported('emitReceipt') : b.emitReceipt(receiptKind)),
      () => {
        // Stamp first, then record: both happen only after the backend said yes.
        this.#local.set(`syncbat.emit_receipt.${receiptKind}`, bytes);
        this.#observed = this.#observed.emitsReceipt(receiptKind);
      },
    );
  }

  useHostControl(controlId: string): Promise<void> {
    checkString(controlId, 'host control id');
    return this.#perform(
      'use host controls',
      (b) => (b.useHostControl === undefined ? unsupported('useHostControl') : b.useHostControl(controlId)),
      () => (this.#observed = this.#observed.usesHostControl(controlId)),
    );
  }

  #perform(verb: string, call: (backend: EffectBackend) => Promise<void> | void, record: () => void): Promise<void> {
    if (this.#sealed) return handledRejection(closedError());
    const backend = this.#backend;
    if (backend === undefined) {
      return handledRejection(new EffectError(`no effect backend is bound for this invocation; cannot ${verb}`));
    }
    const run = (async () => {
      try {
        await call(backend);
      } catch (err) {
        throw err instanceof EffectError ? err : new EffectError(err instanceof Error ? err.message : String(err), { cause: err });
      }
      record();
    })();
    // Tracked until settled so an effect the handler did not await is still observed before the subset check.
    this.#inflight.add(run);
    void run.then(
      () => this.#inflight.delete(run),
      () => this.#inflight.delete(run),
    );
    return run;
  }

  #assertOpen(): void {
    if (this.#sealed) throw closedError();
  }

  /** Refuses new effects and metadata, then waits for effects already started and records those that succeed. */
  async seal(): Promise<void> {
    this.#sealed = true;
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  metadata(): ReceiptMetadata {
    return { signed: new Map(this.#signed), local: new Map(this.#local) };
  }
}

function unsupported(axis: keyof typeof UNSUPPORTED_EFFECT): never {
  throw new EffectError(UNSUPPORTED_EFFECT[axis]);
}

/** A rejection that cannot crash the process when a handler fires an effect and forgets it. */
function handledRejection(err: EffectError): Promise<void> {
  const p = Promise.reject(err);
  p.catch(() => undefined);
  return p;
}

function closedError(): EffectError {
  return new EffectError('the invocation context is closed: effects must start before the handler settles');
}
