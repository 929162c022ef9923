// Ctx: the only path from a handler to effects. Each handle copies and validates its target once, checks it against the
// declared row, performs that same copy, then records it. Invariant: an undeclared effect never reaches the backend, and
// a Ctx whose dispatch has ended performs nothing (INV-SYNCBAT-EFFECTS-DECLARED, INV-SYNCBAT-AUTHORITY-BOUND).

import type { EventKind } from '@batpak/core';
import type { OperationDescriptor } from './descriptor.js';
import { EffectError, UNSUPPORTED_EFFECT, type EffectBackend, type EffectErrorCode } from './effect-backend.js';
import { appendTarget, EffectRow, type EffectRowList } from './effect-row.js';
import { rustDebugString } from './rust-debug.js';
import { EMIT_RECEIPT_KEY_PREFIX, isReservedReceiptKey } from './receipt/reserved.js';
import type { InvocationCommit, StagedAppend } from './store-commit.js';
import { RECEIPT_LIMITS, utf8Length } from './receipt/limits.js';

/** Two drawers of receipt metadata: `signed` is covered by the store's signature, `local` is diagnostics. */
export interface ReceiptMetadata {
  readonly signed: ReadonlyMap<string, Uint8Array>;
  readonly local: ReadonlyMap<string, Uint8Array>;
}

/**
 * What a handler (and the admission guard) gets for one invocation: the only holder of its authority. Every
 * method refuses (EffectError `ERR_CTX_REVOKED`) once the dispatch has ended, whatever async context calls it.
 */
export interface Ctx {
  readonly descriptor: OperationDescriptor;
  /** The dispatch signal (never aborted when the caller gave none): stop early, then throw. */
  readonly signal: AbortSignal;
  /** Effects performed so far, as recorded by the handles (undeclared attempts are never performed, so never here). */
  readonly observed: EffectRow;
  /**
   * Insert or overwrite a signed-drawer entry (correlation or attempt ids). `syncbat.*` keys are refused; a key,
   * value or drawer total over RECEIPT_LIMITS throws EffectError `ERR_LIMIT_EXCEEDED` and attaches nothing.
   */
  attachSigned(key: string, value: Uint8Array): void;
  /** Insert or overwrite a local-drawer entry. `syncbat.*` keys are refused. */
  attachLocal(key: string, value: Uint8Array): void;
  readEvent(category: string): Promise<void>;
  /**
   * `kind` as `{ category, typeId }` or its raw u16, read once; recorded as {@link appendTarget}(kind). With a
   * StoreEffectBackend whose store also banks the receipts (README § Atomicity) the append is staged: it is
   * committed together with the receipt after the handler returns, or not at all.
   */
  appendEvent(kind: EventKind | number, payload: Uint8Array): Promise<void>;
  /**
   * Read-your-writes: the appends this invocation staged so far, in order (copies). Store reads do not see them
   * until the invocation commits. Empty when appends are performed directly (a custom backend).
   */
  stagedAppends(): readonly StagedAppend[];
  queryProjection(projectionId: string): Promise<void>;
  /** Emits through the backend, then stamps `payload` into the local drawer at `syncbat.emit_receipt.{kind}`. */
  emitReceipt(receiptKind: string, payload: Uint8Array): Promise<void>;
  useHostControl(controlId: string): Promise<void>;
}

const NEVER_ABORTED = new AbortController().signal;

/**
 * What a staged effect resolves with: one settled promise shared by every staging (it carries nothing, and a settled
 * promise cannot change), instead of a new one per append (with the checkout scope on, each new promise pays hooks).
 */
const STAGED: Promise<void> = Promise.resolve();

function refuse(code: EffectErrorCode, reason: string): EffectError {
  return new EffectError(reason, { code });
}

/** Reads `category` and `typeId` exactly once each: a getter or a later mutation cannot change what is appended. */
function copyKind(kind: unknown): EventKind {
  if (typeof kind === 'number') {
    if (!Number.isInteger(kind) || kind < 0 || kind > 0xffff) throw refuse('ERR_EFFECT_INVALID', `event kind must be a u16, got ${kind}`);
    return Object.freeze({ category: kind >>> 12, typeId: kind & 0xfff });
  }
  if (typeof kind !== 'object' || kind === null) throw refuse('ERR_EFFECT_INVALID', 'event kind must be { category, typeId } or a u16');
  let category: unknown;
  let typeId: unknown;
  try {
    ({ category, typeId } = kind as { category: unknown; typeId: unknown });
  } catch (err) {
    throw new EffectError('event kind could not be read', { code: 'ERR_EFFECT_INVALID', cause: err });
  }
  if (typeof category !== 'number' || !Number.isInteger(category) || category < 0 || category > 0xf) {
    throw refuse('ERR_EFFECT_INVALID', `event kind category must be an integer 0..15, got ${String(category)}`);
  }
  if (typeof typeId !== 'number' || !Number.isInteger(typeId) || typeId < 0 || typeId > 0xfff) {
    throw refuse('ERR_EFFECT_INVALID', `event kind typeId must be an integer 0..4095, got ${String(typeId)}`);
  }
  return Object.freeze({ category, typeId });
}

function checkBytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw refuse('ERR_EFFECT_INVALID', `${what} must be a Uint8Array`);
  return value;
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw refuse('ERR_EFFECT_INVALID', `${what} must be a string`);
  return value;
}

/** Rust spelling of a row list, for refusal messages. */
const SPELLING: { readonly [K in EffectRowList]: string } = {
  readsEvents: 'reads_events',
  appendsEvents: 'appends_events',
  queriesProjections: 'queries_projections',
  emitsReceipts: 'emits_receipts',
  usesHostControls: 'uses_host_controls',
  requiresCapabilities: 'requires_capabilities',
};

/** One effect call, already copied: the axis, its target, and how to perform and record exactly that target. */
interface EffectCall {
  readonly verb: string;
  readonly list: Exclude<EffectRowList, 'requiresCapabilities'>;
  readonly target: string;
  readonly perform: (backend: EffectBackend) => Promise<void> | void;
  readonly record: (row: EffectRow) => EffectRow;
  readonly after?: () => void;
}

/** An effect's arguments failed validation: an EffectError as thrown, anything else wrapped as ERR_EFFECT_INVALID. */
function invalidArgument(err: unknown): EffectError {
  return err instanceof EffectError ? err : new EffectError(String(err), { code: 'ERR_EFFECT_INVALID', cause: err });
}

/** The runtime's Ctx. Internal: the Core creates one per checkout and revokes it when the handler settles. */
export class InvocationContext implements Ctx {
  // Private with getters: a handler cannot swap in a descriptor with a wider row (`ctx.descriptor = …`).
  readonly #descriptor: OperationDescriptor;
  readonly #signal: AbortSignal;
  readonly #backend: EffectBackend | undefined;
  #performed = EffectRow.empty();
  #staged = EffectRow.empty();
  #refused = EffectRow.empty();
  #observedCache: { readonly performed: EffectRow; readonly staged: EffectRow; readonly row: EffectRow } | undefined;
  // Drawers and the in-flight set are made on first use: most checkouts attach nothing and start no effect.
  #signed: Map<string, Uint8Array> | undefined;
  #local: Map<string, Uint8Array> | undefined;
  /** Keys plus values of both drawers, kept under RECEIPT_LIMITS.drawerBytes. */
  #drawerBytes = 0;
  #inflight: Set<Promise<void>> | undefined;
  // The per-dispatch token: true from creation until the Core revokes it. Checked by every method, so holding a
  // reference (through a snapshot, a timer, a stashed promise) grants nothing once the dispatch is over.
  #live = true;

  readonly #commit: InvocationCommit | undefined;

  /** With `commit`, store appends are staged into it (the Core commits them with the receipt) instead of performed. */
  constructor(descriptor: OperationDescriptor, backend: EffectBackend | undefined, signal: AbortSignal | undefined, commit?: InvocationCommit) {
    this.#descriptor = descriptor;
    this.#backend = backend;
    this.#signal = signal ?? NEVER_ABORTED;
    this.#commit = commit;
  }

  get descriptor(): OperationDescriptor {
    return this.#descriptor;
  }

  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Performed and staged effects: what the observed ⊆ declared check covers and a completed receipt lists. */
  get observed(): EffectRow {
    if (this.#staged.isEmpty()) return this.#performed;
    // Only staged appends (a persist handler's usual case): the merge below would rebuild this very row.
    if (this.#performed.isEmpty()) return this.#staged;
    // Read several times per checkout (the subset check, the receipt): merged once per change of either row.
    const c = this.#observedCache;
    if (c !== undefined && c.performed === this.#performed && c.staged === this.#staged) return c.row;
    let row = this.#performed;
    for (const t of this.#staged.appendsEvents) row = row.appendsEvent(t);
    this.#observedCache = { performed: this.#performed, staged: this.#staged, row };
    return row;
  }

  /** Effects performed directly (not staged): what a failed or denied receipt lists, its staged appends being dropped. */
  get performedDirectly(): EffectRow {
    return this.#performed;
  }

  stagedAppends(): readonly StagedAppend[] {
    if (!this.#live) throw revokedError();
    return Object.freeze((this.#commit?.appends ?? []).map((a) => Object.freeze({ kind: a.kind, payload: new Uint8Array(a.payload) })));
  }

  /** Undeclared effects this Ctx refused (never performed); the Core denies the checkout if any. */
  get refused(): EffectRow {
    return this.#refused;
  }

  attachSigned(key: string, value: Uint8Array): void {
    this.#attach((this.#signed ??= new Map()), key, value);
  }

  attachLocal(key: string, value: Uint8Array): void {
    this.#attach((this.#local ??= new Map()), key, value);
  }

  #attach(drawer: Map<string, Uint8Array>, key: unknown, value: unknown): void {
    if (!this.#live) throw revokedError();
    const k = checkString(key, 'drawer key');
    if (isReservedReceiptKey(k)) {
      throw refuse('ERR_RESERVED_RECEIPT_KEY', `receipt drawer key ${rustDebugString(k)} is reserved: syncbat.* entries are written by the runtime only`);
    }
    this.#put(drawer, k, checkBytes(value, 'drawer value'));
  }

  /** Bounds one entry and the drawers' total before storing a copy; over a limit nothing changes. */
  #put(drawer: Map<string, Uint8Array>, key: string, value: Uint8Array): void {
    const cost = this.#entryCost(drawer, key, value);
    drawer.set(key, new Uint8Array(value));
    this.#drawerBytes += cost;
  }

  /** The change in drawer bytes that storing `key` → `value` makes, or ERR_LIMIT_EXCEEDED. */
  #entryCost(drawer: Map<string, Uint8Array>, key: string, value: Uint8Array): number {
    const keyBytes = utf8Length(key, RECEIPT_LIMITS.keyBytes);
    if (keyBytes > RECEIPT_LIMITS.keyBytes) throw refuse('ERR_LIMIT_EXCEEDED', `receipt drawer key is ${keyBytes} bytes; the limit is ${RECEIPT_LIMITS.keyBytes}`);
    if (value.length > RECEIPT_LIMITS.valueBytes) {
      throw refuse('ERR_LIMIT_EXCEEDED', `receipt drawer value is ${value.length} bytes; the limit is ${RECEIPT_LIMITS.valueBytes}`);
    }
    const old = drawer.get(key);
    const cost = keyBytes + value.length - (old === undefined ? 0 : keyBytes + old.length);
    if (this.#drawerBytes + cost > RECEIPT_LIMITS.drawerBytes) {
      throw refuse('ERR_LIMIT_EXCEEDED', `receipt drawers would hold ${this.#drawerBytes + cost} bytes; the limit is ${RECEIPT_LIMITS.drawerBytes}`);
    }
    return cost;
  }

  readEvent(category: string): Promise<void> {
    return this.#call(() => {
      const target = checkString(category, 'event category');
      return {
        verb: 'read events',
        list: 'readsEvents',
        target,
        perform: (b) => (b.readEvent === undefined ? unsupported('readEvent') : b.readEvent(target)),
        record: (row) => row.readsEvent(target),
      };
    });
  }

  appendEvent(kind: EventKind | number, payload: Uint8Array): Promise<void> {
    if (this.#commit !== undefined) return this.#stageAppend(kind, payload);
    return this.#call(() => {
      // One copy: the backend appends it, the check and the record see it. Nothing reads `kind` again.
      const k = copyKind(kind);
      const bytes = new Uint8Array(checkBytes(payload, 'event payload'));
      const target = appendTarget(k);
      return {
        verb: 'append events',
        list: 'appendsEvents',
        target,
        perform: (b) => b.appendEvent(k, bytes),
        record: (row) => row.appendsEvent(target),
      };
    });
  }

  /**
   * appendEvent with a commit: #call's steps (liveness, copy and validate, declared?, stage, record) for the one effect
   * that is staged, without the closures and call record #call builds for every axis (this runs per persist dispatch).
   */
  #stageAppend(kind: EventKind | number, payload: Uint8Array): Promise<void> {
    if (!this.#live) return handledRejection(revokedError());
    let k: EventKind;
    let target: string;
    try {
      k = copyKind(kind);
      checkBytes(payload, 'event payload');
      target = appendTarget(k);
    } catch (err) {
      return handledRejection(invalidArgument(err));
    }
    if (!holds(this.#descriptor.effectRow.appendsEvents, target)) {
      this.#refused = this.#refused.appendsEvent(target);
      return handledRejection(this.#undeclared('appendsEvents', target));
    }
    try {
      // Copied by the commit, straight into the bytes it writes (synchronously, in this call).
      this.#commit!.stageAppend(k, payload);
    } catch (err) {
      return handledRejection(err instanceof EffectError ? err : new EffectError(String(err), { cause: err }));
    }
    this.#staged = this.#staged.appendsEvent(target);
    return STAGED;
  }

  queryProjection(projectionId: string): Promise<void> {
    return this.#call(() => {
      const target = checkString(projectionId, 'projection id');
      return {
        verb: 'query projections',
        list: 'queriesProjections',
        target,
        perform: (b) => (b.queryProjection === undefined ? unsupported('queryProjection') : b.queryProjection(target)),
        record: (row) => row.queriesProjection(target),
      };
    });
  }

  emitReceipt(receiptKind: string, payload: Uint8Array): Promise<void> {
    return this.#call(() => {
      const target = checkString(receiptKind, 'receipt kind');
      const bytes = new Uint8Array(checkBytes(payload, 'receipt payload'));
      return {
        verb: 'emit receipts',
        list: 'emitsReceipts',
        target,
        perform: (b) => {
          // Bounded (after the declared check) before the backend is asked: an emit that cannot be stamped is never performed.
          void this.#entryCost((this.#local ??= new Map()), `${EMIT_RECEIPT_KEY_PREFIX}${target}`, bytes);
          return b.emitReceipt === undefined ? unsupported('emitReceipt') : b.emitReceipt(target);
        },
        record: (row) => row.emitsReceipt(target),
        // Stamped only after the backend said yes, under the runtime's own reserved key.
        after: () => this.#put((this.#local ??= new Map()), `${EMIT_RECEIPT_KEY_PREFIX}${target}`, bytes),
      };
    });
  }

  useHostControl(controlId: string): Promise<void> {
    return this.#call(() => {
      const target = checkString(controlId, 'host control id');
      return {
        verb: 'use host controls',
        list: 'usesHostControls',
        target,
        perform: (b) => (b.useHostControl === undefined ? unsupported('useHostControl') : b.useHostControl(target)),
        record: (row) => row.usesHostControl(target),
      };
    });
  }

  /**
   * Liveness → copy and validate → declared? → perform the copy → record. An undeclared target is recorded as
   * refused (the Core then denies the checkout with effect.violation, even if the handler swallows the error)
   * and never reaches the backend.
   */
  /** The refusal of an effect on `target` the descriptor does not declare in `list`. */
  #undeclared(list: EffectCall['list'], target: string): EffectError {
    return refuse('ERR_EFFECT_UNDECLARED', `operation ${rustDebugString(this.#descriptor.name)} does not declare ${SPELLING[list]} target ${rustDebugString(target)}; not performed`);
  }

  #call(prepare: () => EffectCall): Promise<void> {
    if (!this.#live) return handledRejection(revokedError());
    let call: EffectCall;
    try {
      call = prepare();
    } catch (err) {
      return handledRejection(invalidArgument(err));
    }
    if (!holds(this.#descriptor.effectRow[call.list], call.target)) {
      this.#refused = call.record(this.#refused);
      return handledRejection(this.#undeclared(call.list, call.target));
    }
    const backend = this.#backend;
    if (backend === undefined) {
      return handledRejection(new EffectError(`no effect backend is bound for this invocation; cannot ${call.verb}`));
    }
    const run = (async () => {
      try {
        await call.perform(backend);
      } catch (err) {
        throw err instanceof EffectError ? err : new EffectError(err instanceof Error ? err.message : String(err), { cause: err });
      }
      call.after?.();
      this.#performed = call.record(this.#performed);
    })();
    // Tracked until settled so an effect the handler did not await is still observed before the subset check.
    const inflight = (this.#inflight ??= new Set());
    inflight.add(run);
    void run.then(
      () => inflight.delete(run),
      () => inflight.delete(run),
    );
    return run;
  }

  /** Revokes the token: every later call refuses with ERR_CTX_REVOKED. */
  revoke(): void {
    this.#live = false;
  }

  /** Revokes the token; true when no effect is in flight, so there is nothing for seal() to wait for. */
  sealIfIdle(): boolean {
    this.revoke();
    return this.#inflight === undefined || this.#inflight.size === 0;
  }

  /** Revokes the token (nothing new starts), then waits for effects already started and records those that succeed. */
  async seal(): Promise<void> {
    this.revoke();
    const inflight = this.#inflight;
    if (inflight === undefined) return;
    while (inflight.size > 0) await Promise.allSettled([...inflight]);
  }

  /** Whether neither drawer holds an entry (an entry may cost 0 bytes, so counted by size, not by #drawerBytes). */
  drawersEmpty(): boolean {
    return (this.#signed === undefined || this.#signed.size === 0) && (this.#local === undefined || this.#local.size === 0);
  }

  /** The drawers: copies while the Ctx is live; once revoked nothing can change them, so the drawers themselves. */
  metadata(): ReceiptMetadata {
    if (!this.#live) return { signed: (this.#signed ??= new Map()), local: (this.#local ??= new Map()) };
    return { signed: new Map(this.#signed), local: new Map(this.#local) };
  }
}

/**
 * Membership by a plain loop over the frozen declared list: no Array.prototype method a handler could have
 * replaced takes part in the decision.
 */
function holds(list: readonly string[], target: string): boolean {
  for (let i = 0; i < list.length; i++) if (list[i] === target) return true;
  return false;
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

function revokedError(): EffectError {
  return refuse('ERR_CTX_REVOKED', 'the invocation context is closed: its dispatch has ended, so effects must start before the handler settles');
}
