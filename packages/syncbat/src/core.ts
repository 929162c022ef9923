// Core: dispatch — the checkout pipeline: capability gate → admission → Started → handler → observed ⊆ declared → result.
// Invariant: every checkout that resolves a descriptor and reaches a sink step banks exactly one receipt (INV-SYNCBAT-ONE-RECEIPT);
// a dispatch from inside one of this Core's own checkouts is refused, never queued behind itself (INV-SYNCBAT-NO-REENTRY).

import { AsyncLocalStorage } from 'node:async_hooks';
import type { AdmissionDecision, AdmissionGuard } from './admission.js';
import { checkCaller, missingForCaller, stampCaller, type Caller } from './caller.js';
import { InvocationContext, type ReceiptMetadata } from './ctx.js';
import type { OperationDescriptor } from './descriptor.js';
import type { EffectBackend } from './effect-backend.js';
import { firstUngranted, type CapabilityGrants } from './capability-gate.js';
import { RuntimeError, type HandlerCause } from './errors.js';
import { DispatchQueue } from './dispatch-queue.js';
import { handlerCause, type Handler } from './handler.js';
import { encodeInvocationEffects, SYNCBAT_EFFECTS_KEY } from './receipt/effects.js';
import type { ReceiptOutcome } from './receipt/envelope.js';
import { hashUnder, type ReceiptHashPolicy } from './receipt/hash-policy.js';
import type { ReceiptSink, RecordedReceipt } from './receipt/sink.js';
import { rustDebugString } from './rust-debug.js';
import type { OperationStatusFact } from './status/fact.js';
import type { OperationStatusSink } from './status/sink.js';

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

/**
 * Which checkout (of which Core) the current async context belongs to. Used only to refuse re-entrant dispatch —
 * a liveness guard, never an authority check: authority lives in the Ctx a checkout hands its handler.
 */
interface CheckoutScope {
  readonly core: CoreRuntime;
  active: boolean;
}
const checkoutScope = new AsyncLocalStorage<CheckoutScope>();

const NO_METADATA: ReceiptMetadata = Object.freeze({ signed: new Map(), local: new Map() });

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isDecision(value: unknown): value is AdmissionDecision {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { admit?: unknown; code?: unknown; message?: unknown };
  return v.admit === true || (v.admit === false && typeof v.code === 'string' && typeof v.message === 'string');
}

/** The Ctx's drawers plus the runtime's `syncbat.effects` record (signed), when anything was performed or refused. */
function metadataOf(ctx: InvocationContext): ReceiptMetadata {
  const { signed, local } = ctx.metadata();
  if (!ctx.observed.isEmpty() || !ctx.refused.isEmpty()) {
    const out = new Map(signed);
    out.set(SYNCBAT_EFFECTS_KEY, encodeInvocationEffects({ performed: ctx.observed, refused: ctx.refused }));
    return { signed: out, local };
  }
  return { signed, local };
}

export class CoreRuntime implements Core {
  readonly #p: CoreParts;
  readonly #queue: DispatchQueue;

  constructor(parts: CoreParts) {
    this.#p = parts;
    this.#queue = new DispatchQueue(parts.maxConcurrentDispatches);
  }

  descriptor(name: string): OperationDescriptor | undefined {
    return this.#p.descriptors.get(name);
  }

  operations(): readonly OperationDescriptor[] {
    return [...this.#p.descriptors.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  dispatch(name: string, input: Uint8Array, options: DispatchOptions = {}): Promise<DispatchResult> {
    if (typeof name !== 'string') return Promise.reject(new TypeError('operation name must be a string'));
    if (!(input instanceof Uint8Array)) return Promise.reject(new TypeError('dispatch input must be a Uint8Array'));
    // A handler (or guard) awaiting a dispatch on its own Core would wait for itself forever, and every later
    // dispatch behind it: refuse it at once instead.
    const outer = checkoutScope.getStore();
    if (outer !== undefined && outer.core === this && outer.active) return Promise.reject(new RuntimeError({ kind: 'reentrant_dispatch', name }));
    // A private copy: the hashes must describe the bytes the handler saw, whatever the caller does next.
    const bytes = new Uint8Array(input);
    const { signal } = options;
    let caller: Caller | undefined;
    try {
      caller = checkCaller(options.caller);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.run(
      async () => {
        const scope: CheckoutScope = { core: this, active: true };
        try {
          return await checkoutScope.run(scope, () => this.#checkout(name, bytes, signal, caller));
        } finally {
          scope.active = false;
        }
      },
      signal,
      () => new RuntimeError({ kind: 'aborted', name }, { cause: signal?.reason }),
    );
  }

  async #checkout(name: string, input: Uint8Array, signal: AbortSignal | undefined, caller: Caller | undefined): Promise<DispatchResult> {
    const d = this.#p.descriptors.get(name);
    if (d === undefined) throw new RuntimeError({ kind: 'unknown_operation', name });

    // The caller's principal rides in the metadata every receipt of this checkout is built from.
    const withCaller = (m: ReceiptMetadata): ReceiptMetadata => ({ signed: stampCaller(m.signed, caller), local: m.local });

    // 1. Declared authority: every non-ambient token must be granted (and held by the caller, if any). Fails before any Ctx exists.
    const missing = firstUngranted(d, this.#p.grants) ?? missingForCaller(d.effectRow.requiresCapabilities, caller);
    if (missing !== undefined) {
      return this.#deny(d, input, 'capability.denied', `operation requires ungranted capability ${rustDebugString(missing)}`, withCaller(NO_METADATA));
    }

    // 2. One Ctx spans guard and handler, so guard metadata survives into the handler's receipt. Whatever way the
    // checkout ends (a sink failure included), the Ctx is revoked with it.
    const ctx = new InvocationContext(d, this.#p.backend, signal);
    try {
      return await this.#admitAndRun(d, input, ctx, withCaller);
    } finally {
      ctx.revoke();
    }
  }

  async #admitAndRun(
    d: OperationDescriptor,
    input: Uint8Array,
    ctx: InvocationContext,
    withCaller: (m: ReceiptMetadata) => ReceiptMetadata,
  ): Promise<DispatchResult> {
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
        await ctx.seal();
        return this.#deny(d, input, checked.code, checked.message, withCaller(metadataOf(ctx)));
      }
    }

    // 3. Started: a status-sink failure here means the handler never runs.
    await this.#status(d, { lifecycle: 'started' }, input, undefined, undefined);

    const handler = this.#p.handlers.get(name);
    if (handler === undefined) {
      // Unreachable through CoreBuilder (build() refuses it); kept so a hand-built table still fails closed.
      await this.#status(d, { lifecycle: 'failed', code: 'missing_handler', message: 'operation descriptor has no registered handler' }, input, undefined, undefined);
      throw new RuntimeError({ kind: 'missing_handler', name });
    }

    // 4. The handler. Sync throws, rejections and wrong return types all become a `failed` cause.
    let output: Uint8Array | undefined;
    let cause: { code: 'invalid_input' | 'failed'; message: string } | undefined;
    try {
      const out: unknown = await handler(input, ctx);
      if (out instanceof Uint8Array) output = new Uint8Array(out);
      else cause = { code: 'failed', message: `handler returned ${out === null ? 'null' : typeof out}, expected a Uint8Array` };
    } catch (err) {
      cause = handlerCause(err);
    }
    // The Ctx dies here; effects still in flight finish and are observed before the check.
    await ctx.seal();
    const metadata = withCaller(metadataOf(ctx));

    // 5. Observed ⊆ declared, before the handler result: a violation beats a handler error and drops output. The Ctx
    // refused undeclared effects before performing them; the subset check over what was performed is a second line.
    const violation = ctx.refused.firstViolationAgainst(d.effectRow) ?? ctx.observed.firstViolationAgainst(d.effectRow);
    if (violation !== undefined) return this.#deny(d, input, violation.code, violation.message, metadata);

    if (cause !== undefined || output === undefined) {
      const c = cause ?? { code: 'failed' as const, message: 'handler produced no output' };
      await this.#status(d, { lifecycle: 'failed', code: c.code, message: c.message }, input, undefined, c);
      const receipt = await this.#record(d, input, undefined, { class: 'failed', code: c.code, message: c.message }, metadata, c);
      throw new RuntimeError({ kind: 'handler', name, code: c.code, message: c.message }, receipt === undefined ? {} : { receipt });
    }

    // 6. Success: receipt first, then the Completed fact.
    const receipt = await this.#record(d, input, output, { class: 'completed' }, metadata, undefined);
    await this.#status(d, { lifecycle: 'completed' }, input, output, undefined);
    return Object.freeze({ outcome: 'completed', output, receipt, descriptor: d });
  }

  /** Denied: status fact, then receipt, then the rejection carrying that receipt. */
  async #deny(d: OperationDescriptor, input: Uint8Array, code: string, message: string, metadata: ReceiptMetadata): Promise<never> {
    await this.#status(d, { lifecycle: 'denied', code, message }, input, undefined, undefined);
    const receipt = await this.#record(d, input, undefined, { class: 'denied', code, message }, metadata, undefined);
    throw new RuntimeError({ kind: 'denied', name: d.name, code, message }, receipt === undefined ? {} : { receipt });
  }

  async #record(
    d: OperationDescriptor,
    input: Uint8Array,
    output: Uint8Array | undefined,
    outcome: ReceiptOutcome,
    metadata: ReceiptMetadata,
    causedByHandler: HandlerCause | undefined,
  ): Promise<RecordedReceipt | undefined> {
    const sink = this.#p.receiptSink;
    if (sink === undefined) return undefined;
    try {
      const inputHash = hashUnder(this.#p.hashPolicy, input);
      const outputHash = output === undefined ? undefined : hashUnder(this.#p.hashPolicy, output);
      return await sink.recordReceipt(
        Object.freeze({
          descriptorName: d.name,
          receiptKind: d.receiptKind,
          ...(inputHash === undefined ? {} : { inputHash }),
          ...(outputHash === undefined ? {} : { outputHash }),
          outcome: Object.freeze(outcome),
          signedExtensions: metadata.signed,
          localExtensions: metadata.local,
        }),
      );
    } catch (err) {
      throw new RuntimeError(
        { kind: 'receipt_sink', name: d.name, message: messageOf(err), ...(causedByHandler === undefined ? {} : { causedByHandler }) },
        { cause: err },
      );
    }
  }

  async #status(
    d: OperationDescriptor,
    step: { lifecycle: OperationStatusFact['lifecycle']; code?: string; message?: string },
    input: Uint8Array,
    output: Uint8Array | undefined,
    causedByHandler: HandlerCause | undefined,
  ): Promise<void> {
    const sink = this.#p.statusSink;
    if (sink === undefined) return;
    try {
      // Started facts carry only the receipt kind; terminal facts carry hashes under the receipt policy.
      const terminal = step.lifecycle !== 'started';
      const inputHash = terminal ? hashUnder(this.#p.hashPolicy, input) : undefined;
      const outputHash = output === undefined ? undefined : hashUnder(this.#p.hashPolicy, output);
      await sink.recordFact(
        Object.freeze({
          schemaVersion: 1,
          operation: d.name,
          lifecycle: step.lifecycle,
          receiptKind: d.receiptKind,
          ...(step.code === undefined ? {} : { code: step.code }),
          ...(step.message === undefined ? {} : { message: step.message }),
          ...(inputHash === undefined ? {} : { inputHash }),
          ...(outputHash === undefined ? {} : { outputHash }),
        }),
      );
    } catch (err) {
      throw new RuntimeError(
        { kind: 'status_sink', name: d.name, message: messageOf(err), ...(causedByHandler === undefined ? {} : { causedByHandler }) },
        { cause: err },
      );
    }
  }
}
