// Core: dispatch — the checkout pipeline: capability gate → admission → Started → handler → observed ⊆ declared → result.
// Invariant: every checkout that resolves a descriptor and reaches a sink step banks exactly one receipt (INV-SYNCBAT-ONE-RECEIPT);
// a dispatch from inside one of this Core's own checkouts is refused, never queued behind itself (INV-SYNCBAT-NO-REENTRY).

import type { AdmissionDecision, AdmissionGuard } from './admission.js';
import { checkCaller, missingForCaller, stampCaller, type Caller } from './caller.js';
import { inNewScope, insideCheckoutOf, type CheckoutScope } from './checkout-scope.js';
import { InvocationContext, type ReceiptMetadata } from './ctx.js';
import type { OperationDescriptor } from './descriptor.js';
import type { EffectBackend } from './effect-backend.js';
import { EFFECT_ROW_LISTS, EffectRow } from './effect-row.js';
import { firstUngranted, type CapabilityGrants } from './capability-gate.js';
import { RuntimeError, type HandlerCause } from './errors.js';
import { DispatchQueue, type Release } from './dispatch-queue.js';
import { handlerCause, isThenable, type Handler } from './handler.js';
import { CompletedEnvelopeTemplate } from './receipt/completed-template.js';
import { encodeInvocationEffects, SYNCBAT_EFFECTS_KEY } from './receipt/effects.js';
import type { ReceiptEnvelope, ReceiptOutcome } from './receipt/envelope.js';
import { hashUnder, type ReceiptHashPolicy } from './receipt/hash-policy.js';
import type { ReceiptSink, RecordedReceipt } from './receipt/sink.js';
import { rustDebugString } from './rust-debug.js';
import { RECEIPT_LIMITS, boundText } from './receipt/limits.js';
import type { OperationStatusFact } from './status/fact.js';
import type { OperationStatusSink } from './status/sink.js';
import { InvocationCommit, isCommitRefusal, storeCommitPlan, type StoreCommitPlan } from './store-commit.js';

export interface DispatchOptions {
  /**
   * Aborting before the checkout starts rejects with RuntimeError `aborted` and records nothing. Once it has
   * started the checkout runs to its receipt; the handler sees the signal as `ctx.signal`.
   */
  readonly signal?: AbortSignal;
  /**
   * Who is calling (e.g. an authenticated network client). Required capabilities must then be granted to the
   * host and held by the caller (else `capability.denied`), and every receipt of the call names its principal.
   */
  readonly caller?: Caller;
}

export interface DispatchResult {
  readonly outcome: 'completed';
  readonly output: Uint8Array;
  /** The banked receipt, or undefined for a Core built `withoutReceipts()`. */
  readonly receipt: RecordedReceipt | undefined;
  readonly descriptor: OperationDescriptor;
}

/** A built runtime. Denied and failed checkouts reject with a RuntimeError that carries their receipt. */
export interface Core {
  dispatch(name: string, input: Uint8Array, options?: DispatchOptions): Promise<DispatchResult>;
  descriptor(name: string): OperationDescriptor | undefined;
  /** Mounted descriptors, sorted by name. */
  operations(): readonly OperationDescriptor[];
}

export interface CoreParts {
  readonly descriptors: ReadonlyMap<string, OperationDescriptor>;
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly guard: AdmissionGuard | undefined;
  readonly receiptSink: ReceiptSink | undefined;
  readonly statusSink: OperationStatusSink | undefined;
  readonly hashPolicy: ReceiptHashPolicy;
  readonly backend: EffectBackend | undefined;
  readonly grants: CapabilityGrants;
  /** Cap on checkouts running at once (1 = strict arrival order). */
  readonly maxConcurrentDispatches: number;
}

/** The completed outcome: frozen once, not per dispatch. */
const COMPLETED: ReceiptOutcome = Object.freeze({ class: 'completed' });

const NO_METADATA: ReceiptMetadata = Object.freeze({ signed: new Map(), local: new Map() });

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isDecision(value: unknown): value is AdmissionDecision {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { admit?: unknown; code?: unknown; message?: unknown };
  return v.admit === true || (v.admit === false && typeof v.code === 'string' && typeof v.message === 'string');
}

/**
 * The Ctx's drawers plus the runtime's `syncbat.effects` record (signed), when anything was performed or refused.
 * `committed: false` (failed, denied) leaves out staged appends: they are dropped, never committed.
 */
function metadataOf(ctx: InvocationContext, committed: boolean): ReceiptMetadata {
  const { signed, local } = ctx.metadata();
  const performed = committed ? ctx.observed : ctx.performedDirectly;
  if (!performed.isEmpty() || !ctx.refused.isEmpty()) {
    const out = new Map(signed);
    out.set(SYNCBAT_EFFECTS_KEY, effectsRecord(ctx.descriptor, performed, ctx.refused));
    return { signed: out, local };
  }
  return { signed, local };
}

/** The record of "performed exactly the declared effects, refused nothing" — the usual case — encoded once per descriptor. */
const declaredRecords = new WeakMap<OperationDescriptor, Uint8Array>();

function declaredRecord(d: OperationDescriptor): Uint8Array {
  let bytes = declaredRecords.get(d);
  if (bytes === undefined) declaredRecords.set(d, (bytes = encodeInvocationEffects({ performed: d.effectRow, refused: EffectRow.empty() })));
  return bytes;
}

function effectsRecord(d: OperationDescriptor, performed: EffectRow, refused: EffectRow): Uint8Array {
  if (!refused.isEmpty() || !sameEffects(performed, d.effectRow)) return encodeInvocationEffects({ performed, refused });
  // A copy: the receipt's drawer is the caller's to read (or scribble on), the cached bytes are not.
  return new Uint8Array(declaredRecord(d));
}

/**
 * The completed receipt of an invocation that performed exactly its declared effects, refused nothing, attached
 * nothing and had no caller: the same bytes per descriptor but for the hashes, so built once (the usual case).
 */
const completedTemplates = new WeakMap<OperationDescriptor, CompletedEnvelopeTemplate>();

function completedTemplate(d: OperationDescriptor): CompletedEnvelopeTemplate {
  let t = completedTemplates.get(d);
  if (t === undefined) {
    // metadataOf adds the effects record only when something was performed: a row that declares no effect (capability
    // tokens are not effects) leaves the signed drawer empty.
    const signed = new Map<string, Uint8Array>();
    if (declaresEffects(d.effectRow)) signed.set(SYNCBAT_EFFECTS_KEY, declaredRecord(d));
    completedTemplates.set(d, (t = CompletedEnvelopeTemplate.of(d.name, d.receiptKind, signed)));
  }
  return t;
}

/**
 * What metadataOf(ctx, true) and withCaller make for a plain invocation (no caller, empty drawers, refused nothing,
 * performed exactly the declared effects), without the copies on the way: the declared effects record when the row
 * declares an effect (tested against the generic path in completed-template.test.ts).
 */
function plainMetadata(d: OperationDescriptor): ReceiptMetadata {
  const signed = new Map<string, Uint8Array>();
  // A copy: the receipt's drawer is the caller's to read (or scribble on), the cached bytes are not.
  if (declaresEffects(d.effectRow)) signed.set(SYNCBAT_EFFECTS_KEY, new Uint8Array(declaredRecord(d)));
  return { signed, local: new Map() };
}

/** Whether the row lists any effect (capability tokens are declarations, not effects). */
function declaresEffects(row: EffectRow): boolean {
  // An index loop: plainMetadata asks per completed dispatch, and a for-of with destructuring costs an iterator per list.
  for (let l = 0; l < EFFECT_ROW_LISTS.length; l++) {
    const list = EFFECT_ROW_LISTS[l]![0];
    if (list !== 'requiresCapabilities' && row[list].length > 0) return true;
  }
  return false;
}

/** The caller's principal rides in the metadata every receipt of a checkout is built from. */
function withCaller(m: ReceiptMetadata, caller: Caller | undefined): ReceiptMetadata {
  return { signed: stampCaller(m.signed, caller), local: m.local };
}

/** Equal effect lists (capability tokens are declarations, never performed, so they are not compared). */
function sameEffects(a: EffectRow, b: EffectRow): boolean {
  // An index loop: this runs per completed dispatch, and a for-of with destructuring costs an iterator per list.
  for (let l = 0; l < EFFECT_ROW_LISTS.length; l++) {
    const list = EFFECT_ROW_LISTS[l]![0];
    if (list === 'requiresCapabilities') continue;
    const x = a[list];
    const y = b[list];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  }
  return true;
}

/** Why a handler failed, as handlerCause gives it. */
type HandlerFailure = ReturnType<typeof handlerCause>;

/** A mounted operation, as a dispatch looks it up. */
interface Operation {
  readonly d: OperationDescriptor;
  /** Always set through CoreBuilder (build() refuses a descriptor without one). */
  readonly handler: Handler | undefined;
  /** The first declared non-ambient token the host does not grant to this operation, if any. */
  readonly ungranted: string | undefined;
}

/** How a concluded checkout settles its dispatch: exactly one of the two, once. */
interface Settle {
  readonly resolve: (result: DispatchResult) => void;
  readonly reject: (err: unknown) => void;
}

/** Settles `settle` from a promise (a denied or failed conclusion, which always rejects). */
function settleFrom(p: Promise<DispatchResult>, settle: Settle): void {
  p.then(settle.resolve, settle.reject);
}

/** A commit the store failed: a `receipt_sink` RuntimeError (wording as StoreReceiptSink's), its cause the store's error. */
function commitFailure(d: OperationDescriptor, err: unknown, causedByHandler: HandlerCause | undefined): RuntimeError {
  const message = `batpak receipt append failed: ${messageOf(err)}`;
  return new RuntimeError({ kind: 'receipt_sink', name: d.name, message, ...(causedByHandler === undefined ? {} : { causedByHandler }) }, { cause: err });
}

export class CoreRuntime implements Core {
  readonly #p: CoreParts;
  readonly #queue: DispatchQueue;
  /** Set when backend and sinks share one store: each invocation is then committed as one appendBatch. */
  readonly #plan: StoreCommitPlan | undefined;
  /** No receipt or status write waits on a sink of its own: each is staged into the commit, or there is no sink. */
  readonly #sinksStaged: boolean;
  /**
   * Per operation name: its descriptor, handler and the first declared token the host does not grant. Descriptors,
   * handlers and grants are fixed once built, so the host side of the capability gate is decided once, not per dispatch.
   */
  readonly #ops: ReadonlyMap<string, Operation>;

  constructor(parts: CoreParts) {
    this.#p = parts;
    this.#queue = new DispatchQueue(parts.maxConcurrentDispatches);
    this.#plan = storeCommitPlan(parts.backend, parts.receiptSink, parts.statusSink);
    this.#sinksStaged =
      (parts.receiptSink === undefined || this.#plan?.receipts !== undefined) && (parts.statusSink === undefined || this.#plan?.status === true);
    const ops = new Map<string, Operation>();
    for (const [name, d] of parts.descriptors) ops.set(name, { d, handler: parts.handlers.get(d.name), ungranted: firstUngranted(d, parts.grants) });
    this.#ops = ops;
  }

  descriptor(name: string): OperationDescriptor | undefined {
    return this.#p.descriptors.get(name);
  }

  operations(): readonly OperationDescriptor[] {
    return [...this.#p.descriptors.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  dispatch(name: string, input: Uint8Array, options?: DispatchOptions): Promise<DispatchResult> {
    if (typeof name !== 'string') return Promise.reject(new TypeError('operation name must be a string'));
    if (!(input instanceof Uint8Array)) return Promise.reject(new TypeError('dispatch input must be a Uint8Array'));
    // A handler (or guard) awaiting a dispatch on its own Core would wait for itself forever, and every later
    // dispatch behind it: refuse it at once instead.
    if (insideCheckoutOf(this)) return Promise.reject(new RuntimeError({ kind: 'reentrant_dispatch', name }));
    // A private copy: the hashes must describe the bytes the handler saw, whatever the caller does next.
    const bytes = new Uint8Array(input);
    // No options object is made when none is given; `null` still throws here, as destructuring a default did.
    const signal = options === undefined ? undefined : options.signal;
    let caller: Caller | undefined;
    try {
      caller = options === undefined ? undefined : checkCaller(options.caller);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.run(
      (release) => this.#checkout(name, bytes, signal, caller, release),
      signal,
      () => new RuntimeError({ kind: 'aborted', name }, { cause: signal?.reason }),
    );
  }

  #checkout(name: string, input: Uint8Array, signal: AbortSignal | undefined, caller: Caller | undefined, release: Release): Promise<DispatchResult> {
    const op = this.#ops.get(name);
    if (op === undefined) {
      release();
      return Promise.reject(new RuntimeError({ kind: 'unknown_operation', name }));
    }
    // The whole checkout runs in its scope (guard, handler, their effects, custom sinks); it closes when it settles.
    const handler = op.handler;
    if (handler !== undefined && this.#p.guard === undefined && this.#sinksStaged) {
      return inNewScope(this, (scope) => this.#runUnguarded(op, handler, input, signal, caller, scope, release));
    }
    return inNewScope(this, (scope) => this.#admitAndRun(op, input, signal, caller, scope, release));
  }

  /**
   * The checkout of a Core with no admission guard whose status facts and receipt never wait on a sink of their own
   * (staged into the invocation's commit, or absent): the usual persist Core, and a Core without receipts. Nothing
   * before the handler waits, so the checkout is a callback on the handler's promise and one on the commit's
   * settlement, under the dispatch's own promise; an async frame would add its promise, a promise per await and a
   * microtask hop per await (with the checkout scope's async hooks on, every promise also pays a hook). The steps,
   * their order and outcomes are #admitAndRun's.
   */
  #runUnguarded(
    op: Operation,
    handler: Handler,
    input: Uint8Array,
    signal: AbortSignal | undefined,
    caller: Caller | undefined,
    scope: CheckoutScope,
    release: Release,
  ): Promise<DispatchResult> {
    const { d, ungranted } = op;
    return new Promise<DispatchResult>((resolve, reject) => {
      let opened: InvocationContext | undefined;
      // The checkout closes (Ctx revoked, scope closed, queue slot freed) as the last step before the dispatch settles.
      const close = (): void => {
        opened?.revoke();
        scope.open = false;
        release();
      };
      const settle: Settle = {
        resolve: (result) => {
          close();
          resolve(result);
        },
        reject: (err) => {
          close();
          reject(err);
        },
      };
      try {
        // 1. Declared authority (see #admitAndRun).
        const commit = this.#plan === undefined ? undefined : new InvocationCommit(this.#plan);
        const missing = ungranted ?? missingForCaller(d.effectRow.requiresCapabilities, caller);
        if (missing !== undefined) {
          settleFrom(this.#deny(d, input, 'capability.denied', `operation requires ungranted capability ${rustDebugString(missing)}`, withCaller(NO_METADATA, caller), commit), settle);
          return;
        }
        // 2. The Ctx; no guard. 3. Started: staged into the commit, or no status sink (#sinksStaged).
        const ctx = (opened = new InvocationContext(d, this.#p.backend, signal, commit?.plan.effects === undefined ? undefined : commit));
        this.#status(d, { lifecycle: 'started' }, input, undefined, undefined, commit);
        // 4. The handler.
        let out: unknown;
        try {
          out = handler(input, ctx);
        } catch (err) {
          this.#conclude(d, input, ctx, caller, commit, undefined, handlerCause(err), settle);
          return;
        }
        if (!isThenable(out)) {
          this.#concludeWith(d, input, ctx, caller, commit, out, settle);
          return;
        }
        // Promise.resolve adopts a foreign thenable as `await` would, and is the handler's promise itself when native.
        Promise.resolve(out).then(
          (value: unknown) => this.#concludeWith(d, input, ctx, caller, commit, value, settle),
          (err: unknown) => this.#conclude(d, input, ctx, caller, commit, undefined, handlerCause(err), settle),
        );
      } catch (err) {
        settle.reject(err);
      }
    });
  }

  /**
   * One async frame per checkout with an admission guard or a sink of its own: authority, Ctx, guard, handler; the
   * rest is #conclude's. Frees its queue slot as the last step before it settles.
   */
  async #admitAndRun(
    { d, ungranted }: Operation,
    input: Uint8Array,
    signal: AbortSignal | undefined,
    caller: Caller | undefined,
    scope: CheckoutScope,
    release: Release,
  ): Promise<DispatchResult> {
    let opened: InvocationContext | undefined;
    try {
      // 1. Declared authority: every non-ambient token must be granted (and held by the caller, if any). Fails before any Ctx exists.
      const commit = this.#plan === undefined ? undefined : new InvocationCommit(this.#plan);
      const missing = ungranted ?? missingForCaller(d.effectRow.requiresCapabilities, caller);
      if (missing !== undefined) {
        return await this.#deny(d, input, 'capability.denied', `operation requires ungranted capability ${rustDebugString(missing)}`, withCaller(NO_METADATA, caller), commit);
      }

      // 2. One Ctx spans guard and handler, so guard metadata survives into the handler's receipt. Whatever way the
      // checkout ends (a sink failure included), the Ctx is revoked with it. Store appends are staged into `commit`.
      const ctx = (opened = new InvocationContext(d, this.#p.backend, signal, commit?.plan.effects === undefined ? undefined : commit));
      const name = d.name;
      const guard = this.#p.guard;
      if (guard !== undefined) {
        let decision: unknown;
        try {
          decision = await guard(d, input, ctx);
        } catch (err) {
          decision = { admit: false, code: 'admission.failed', message: messageOf(err) };
        }
        if (!isDecision(decision)) decision = { admit: false, code: 'admission.failed', message: 'admission guard returned an invalid decision' };
        const checked = decision as AdmissionDecision;
        if (!checked.admit) {
          if (!ctx.sealIfIdle()) await ctx.seal();
          // A guard's words land in the receipt: cut to the receipt limits like a handler's.
          const code = boundText(checked.code, RECEIPT_LIMITS.codeBytes);
          return await this.#deny(d, input, code, boundText(checked.message, RECEIPT_LIMITS.messageBytes), withCaller(metadataOf(ctx, false), caller), commit);
        }
      }

      // 3. Started: a status-sink failure here means the handler never runs (a staged fact cannot fail).
      const startedFact = this.#status(d, { lifecycle: 'started' }, input, undefined, undefined, commit);
      if (startedFact !== undefined) await startedFact;

      const handler = this.#p.handlers.get(name);
      if (handler === undefined) {
        // Unreachable through CoreBuilder (build() refuses it); kept so a hand-built table still fails closed.
        const missingFact = this.#status(d, { lifecycle: 'failed', code: 'missing_handler', message: 'operation descriptor has no registered handler' }, input, undefined, undefined, commit);
        if (missingFact !== undefined) await missingFact;
        await this.#commit(d, commit, undefined, undefined);
        throw new RuntimeError({ kind: 'missing_handler', name });
      }

      // 4. The handler. Sync throws, rejections and wrong return types all become a `failed` cause.
      let out: unknown;
      let thrown: HandlerFailure | undefined;
      try {
        // A synchronous handler's result is taken as is: no promise (and no turn) per dispatch for it.
        out = handler(input, ctx);
        if (isThenable(out)) out = await out;
      } catch (err) {
        thrown = handlerCause(err);
      }
      return await new Promise<DispatchResult>((resolve, reject) => {
        if (thrown !== undefined) this.#conclude(d, input, ctx, caller, commit, undefined, thrown, { resolve, reject });
        else this.#concludeWith(d, input, ctx, caller, commit, out, { resolve, reject });
      });
    } finally {
      opened?.revoke();
      scope.open = false;
      release();
    }
  }

  /** #conclude with the handler's return value: a Uint8Array (copied) is its output, anything else a `failed` cause. */
  #concludeWith(d: OperationDescriptor, input: Uint8Array, ctx: InvocationContext, caller: Caller | undefined, commit: InvocationCommit | undefined, out: unknown, settle: Settle): void {
    if (out instanceof Uint8Array) this.#conclude(d, input, ctx, caller, commit, new Uint8Array(out), undefined, settle);
    else this.#conclude(d, input, ctx, caller, commit, undefined, { code: 'failed', message: `handler returned ${out === null ? 'null' : typeof out}, expected a Uint8Array` }, settle);
  }

  /**
   * Steps 5–6 once the handler has settled with `output` or `cause`: seal the Ctx, observed ⊆ declared, then the
   * failed, denied or completed receipt and commit. Settles `settle` exactly once; never throws.
   */
  #conclude(
    d: OperationDescriptor,
    input: Uint8Array,
    ctx: InvocationContext,
    caller: Caller | undefined,
    commit: InvocationCommit | undefined,
    output: Uint8Array | undefined,
    cause: HandlerFailure | undefined,
    settle: Settle,
  ): void {
    try {
      // The Ctx dies here; effects still in flight finish and are observed before the check.
      if (ctx.sealIfIdle()) this.#concludeSealed(d, input, ctx, caller, commit, output, cause, settle);
      else ctx.seal().then(() => this.#concludeSealed(d, input, ctx, caller, commit, output, cause, settle), settle.reject);
    } catch (err) {
      settle.reject(err);
    }
  }

  #concludeSealed(
    d: OperationDescriptor,
    input: Uint8Array,
    ctx: InvocationContext,
    caller: Caller | undefined,
    commit: InvocationCommit | undefined,
    output: Uint8Array | undefined,
    cause: HandlerFailure | undefined,
    settle: Settle,
  ): void {
    try {
      // 5. Observed ⊆ declared, before the handler result: a violation beats a handler error and drops output. The Ctx
      // refused undeclared effects before performing them; the subset check over what was performed is a second line.
      const violation = ctx.refused.firstViolationAgainst(d.effectRow) ?? ctx.observed.firstViolationAgainst(d.effectRow);
      if (violation !== undefined) {
        settleFrom(this.#deny(d, input, violation.code, violation.message, withCaller(metadataOf(ctx, false), caller), commit), settle);
        return;
      }
      if (cause !== undefined || output === undefined) {
        const c = cause ?? { code: 'failed' as const, message: 'handler produced no output' };
        settleFrom(this.#fail(d, input, c, withCaller(metadataOf(ctx, false), caller), commit), settle);
        return;
      }

      // 6. Success: receipt first, then the Completed fact — with a commit plan, both in the one commit with the
      // staged appends. Without a receipt sink there is no receipt to build its metadata for.
      if (this.#p.receiptSink === undefined) {
        this.#completedFact(d, input, ctx, caller, commit, output, undefined, settle);
        return;
      }
      const plain = caller === undefined && ctx.drawersEmpty() && ctx.refused.isEmpty() && sameEffects(ctx.observed, d.effectRow);
      const metadata = plain ? plainMetadata(d) : withCaller(metadataOf(ctx, true), caller);
      const recorded = this.#record(d, input, output, COMPLETED, metadata, undefined, commit, plain ? completedTemplate(d) : undefined);
      if (recorded instanceof Promise) recorded.then((r) => this.#completedFact(d, input, ctx, caller, commit, output, r, settle), settle.reject);
      else this.#completedFact(d, input, ctx, caller, commit, output, recorded, settle);
    } catch (err) {
      settle.reject(err);
    }
  }

  #completedFact(
    d: OperationDescriptor,
    input: Uint8Array,
    ctx: InvocationContext,
    caller: Caller | undefined,
    commit: InvocationCommit | undefined,
    output: Uint8Array,
    receipt: RecordedReceipt | undefined,
    settle: Settle,
  ): void {
    try {
      const fact = this.#status(d, { lifecycle: 'completed' }, input, output, undefined, commit);
      if (fact !== undefined) fact.then(() => this.#commitCompleted(d, input, ctx, caller, commit, output, receipt, settle), settle.reject);
      else this.#commitCompleted(d, input, ctx, caller, commit, output, receipt, settle);
    } catch (err) {
      settle.reject(err);
    }
  }

  /**
   * The completed invocation's one commit; the dispatch settles from the commit's own settlement. A commit the store
   * refuses (not one that fails to write) becomes a failed invocation.
   */
  #commitCompleted(
    d: OperationDescriptor,
    input: Uint8Array,
    ctx: InvocationContext,
    caller: Caller | undefined,
    commit: InvocationCommit | undefined,
    output: Uint8Array,
    receipt: RecordedReceipt | undefined,
    settle: Settle,
  ): void {
    if (commit === undefined) {
      settle.resolve(Object.freeze({ outcome: 'completed', output, receipt, descriptor: d }));
      return;
    }
    commit.commitThen(
      (appendReceipt) => {
        const banked = receipt === undefined || appendReceipt === undefined ? receipt : Object.freeze({ envelope: receipt.envelope, appendReceipt });
        settle.resolve(Object.freeze({ outcome: 'completed', output, receipt: banked, descriptor: d }));
      },
      (err: unknown) => {
        // Only a refusal of the items (nothing written) turns into a failed invocation; a write failure stays one.
        if (commit.appends.length === 0 || !isCommitRefusal(err)) {
          settle.reject(commitFailure(d, err, undefined));
          return;
        }
        commit.resetTail();
        const c = { code: 'failed' as const, message: boundText(`the store refused the invocation's effects: ${messageOf(err)}`, RECEIPT_LIMITS.messageBytes) };
        settleFrom(this.#fail(d, input, c, withCaller(metadataOf(ctx, false), caller), commit), settle);
      },
    );
  }

  /** Failed: status fact, then receipt (staged appends dropped), then the rejection carrying that receipt. */
  async #fail(d: OperationDescriptor, input: Uint8Array, c: HandlerCause & { code: 'invalid_input' | 'failed' }, metadata: ReceiptMetadata, commit: InvocationCommit | undefined): Promise<never> {
    commit?.dropAppends();
    const failedFact = this.#status(d, { lifecycle: 'failed', code: c.code, message: c.message }, input, undefined, c, commit);
    if (failedFact !== undefined) await failedFact;
    const recorded = this.#record(d, input, undefined, { class: 'failed', code: c.code, message: c.message }, metadata, c, commit);
    let receipt = recorded instanceof Promise ? await recorded : recorded;
    if (commit !== undefined) receipt = await this.#commit(d, commit, receipt, c);
    throw new RuntimeError({ kind: 'handler', name: d.name, code: c.code, message: c.message }, receipt === undefined ? {} : { receipt });
  }

  /** Denied: status fact, then receipt (staged appends dropped), then the rejection carrying that receipt. */
  async #deny(d: OperationDescriptor, input: Uint8Array, code: string, message: string, metadata: ReceiptMetadata, commit: InvocationCommit | undefined): Promise<never> {
    commit?.dropAppends();
    const deniedFact = this.#status(d, { lifecycle: 'denied', code, message }, input, undefined, undefined, commit);
    if (deniedFact !== undefined) await deniedFact;
    const recorded = this.#record(d, input, undefined, { class: 'denied', code, message }, metadata, undefined, commit);
    let receipt = recorded instanceof Promise ? await recorded : recorded;
    if (commit !== undefined) receipt = await this.#commit(d, commit, receipt, undefined);
    throw new RuntimeError({ kind: 'denied', name: d.name, code, message }, receipt === undefined ? {} : { receipt });
  }

  /**
   * The invocation's one appendBatch (no-op without a plan). Returns the receipt with its store append receipt. A
   * failure is a `receipt_sink` RuntimeError (wording as StoreReceiptSink's), its cause the store's error.
   */
  #commit(d: OperationDescriptor, commit: InvocationCommit | undefined, staged: RecordedReceipt | undefined, causedByHandler: HandlerCause | undefined): Promise<RecordedReceipt | undefined> {
    if (commit === undefined) return Promise.resolve(staged);
    // Mapped inside the commit's own settlement rather than by async frames or a `.then`: one promise per commit
    // instead of five (each one also pays the async-context hooks the checkout scope enables).
    return commit.commit(
      (appendReceipt) => (staged === undefined || appendReceipt === undefined ? staged : Object.freeze({ envelope: staged.envelope, appendReceipt })),
      (err: unknown): never => {
        throw commitFailure(d, err, causedByHandler);
      },
    );
  }

  /** The staged receipt (or none, without a sink) at once; a custom sink's write as a promise. */
  #record(
    d: OperationDescriptor,
    input: Uint8Array,
    output: Uint8Array | undefined,
    outcome: ReceiptOutcome,
    metadata: ReceiptMetadata,
    causedByHandler: HandlerCause | undefined,
    commit: InvocationCommit | undefined,
    template?: CompletedEnvelopeTemplate,
  ): RecordedReceipt | undefined | Promise<RecordedReceipt> {
    const sink = this.#p.receiptSink;
    if (sink === undefined) return undefined;
    const failure = (err: unknown): RuntimeError =>
      new RuntimeError({ kind: 'receipt_sink', name: d.name, message: messageOf(err), ...(causedByHandler === undefined ? {} : { causedByHandler }) }, { cause: err });
    try {
      const inputHash = hashUnder(this.#p.hashPolicy, input);
      const outputHash = output === undefined ? undefined : hashUnder(this.#p.hashPolicy, output);
      // Built field by field (absent hashes stay absent keys), without spread temporaries: this runs per dispatch.
      const envelope: { -readonly [K in keyof ReceiptEnvelope]: ReceiptEnvelope[K] } = { descriptorName: d.name, receiptKind: d.receiptKind } as ReceiptEnvelope;
      if (inputHash !== undefined) envelope.inputHash = inputHash;
      if (outputHash !== undefined) envelope.outputHash = outputHash;
      envelope.outcome = Object.freeze(outcome);
      envelope.signedExtensions = metadata.signed;
      envelope.localExtensions = metadata.local;
      Object.freeze(envelope);
      if (commit?.plan.receipts === undefined) {
        return Promise.resolve(sink.recordReceipt(envelope)).then(undefined, (err: unknown) => {
          throw failure(err);
        });
      }
      // Staged: the store append receipt is filled in once the invocation commits. The template writes the same
      // bytes as the generic encoder for exactly the envelopes it is chosen for (see completedTemplate).
      commit.receipt(envelope, template?.encode(inputHash, outputHash));
      return { envelope };
    } catch (err) {
      throw failure(err);
    }
  }

  /** Stages the fact into the commit (returns undefined, as without a status sink) or returns the sink's write. */
  #status(
    d: OperationDescriptor,
    step: { lifecycle: OperationStatusFact['lifecycle']; code?: string; message?: string },
    input: Uint8Array,
    output: Uint8Array | undefined,
    causedByHandler: HandlerCause | undefined,
    commit: InvocationCommit | undefined,
  ): Promise<void> | undefined {
    const sink = this.#p.statusSink;
    if (sink === undefined) return undefined;
    const failure = (err: unknown): RuntimeError =>
      new RuntimeError({ kind: 'status_sink', name: d.name, message: messageOf(err), ...(causedByHandler === undefined ? {} : { causedByHandler }) }, { cause: err });
    try {
      // Started facts carry only the receipt kind; terminal facts carry hashes under the receipt policy.
      const terminal = step.lifecycle !== 'started';
      const inputHash = terminal ? hashUnder(this.#p.hashPolicy, input) : undefined;
      const outputHash = output === undefined ? undefined : hashUnder(this.#p.hashPolicy, output);
      const fact: OperationStatusFact = Object.freeze({
          schemaVersion: 1, operation: d.name, lifecycle: step.lifecycle, receiptKind: d.receiptKind,
          ...(step.code === undefined ? {} : { code: step.code }),
          ...(step.message === undefined ? {} : { message: step.message }),
          ...(inputHash === undefined ? {} : { inputHash }),
          ...(outputHash === undefined ? {} : { outputHash }),
        });
      if (commit?.plan.status === true) {
        commit.fact(fact);
        return undefined;
      }
      return Promise.resolve(sink.recordFact(fact)).then(undefined, (err: unknown) => {
        throw failure(err);
      });
    } catch (err) {
      throw failure(err);
    }
  }

}
