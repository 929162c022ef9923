// CoreBuilder: registers descriptors and handlers, wires sinks, grants and a backend, and builds a Core.
// Invariant: build() fails closed — a descriptor without handler, a handler without descriptor, or no receipt sink without withoutReceipts().

import type { AdmissionGuard } from './admission.js';
import { CoreRuntime, type Core } from './core.js';
import { DEFAULT_MAX_CONCURRENT_DISPATCHES } from './dispatch-queue.js';
import type { Operation } from './define-operation.js';
import { snapshotDescriptor, validateDescriptor, type OperationDescriptor } from './descriptor.js';
import type { EffectBackend } from './effect-backend.js';
import { EffectRow } from './effect-row.js';
import { BuildError } from './errors.js';
import type { Handler } from './handler.js';
import type { Module } from './module.js';
import { nameViolationMessage } from './descriptor-error.js';
import { findOperationNameViolation } from './operation-name.js';
import { checkHashPolicy, type ReceiptHashPolicy } from './receipt/hash-policy.js';
import type { ReceiptSink } from './receipt/sink.js';
import type { OperationStatusSink } from './status/sink.js';

function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class CoreBuilder {
  readonly #descriptors = new Map<string, OperationDescriptor>();
  readonly #handlers = new Map<string, Handler>();
  readonly #granted = new Set<string>();
  readonly #operationGrants = new Map<string, Set<string>>();
  #guard: AdmissionGuard | undefined;
  #receiptSink: ReceiptSink | undefined;
  #receiptsOptedOut = false;
  #statusSink: OperationStatusSink | undefined;
  #hashPolicy: ReceiptHashPolicy = 'blake3';
  #backend: EffectBackend | undefined;
  #maxConcurrent = DEFAULT_MAX_CONCURRENT_DISPATCHES;

  /** Registers an operation from {@link defineOperation}, or a descriptor with its handler. */
  register(operation: Operation): this;
  register(descriptor: OperationDescriptor, handler: Handler): this;
  register(first: Operation | OperationDescriptor, handler?: Handler): this {
    const [descriptor, h] = 'handler' in first && 'descriptor' in first ? [first.descriptor, first.handler] : [first as OperationDescriptor, handler];
    if (typeof h !== 'function') throw new TypeError('register needs a handler function');
    const d = this.#checkDescriptor(descriptor);
    if (this.#handlers.has(d.name)) throw new BuildError({ kind: 'duplicate_handler', name: d.name });
    this.#descriptors.set(d.name, d);
    this.#handlers.set(d.name, h);
    return this;
  }

  /** Registers a descriptor alone; its handler must follow via registerHandler before build(). */
  registerOperation(descriptor: OperationDescriptor): this {
    const d = this.#checkDescriptor(descriptor);
    this.#descriptors.set(d.name, d);
    return this;
  }

  registerHandler(name: string, handler: Handler): this {
    if (typeof handler !== 'function') throw new TypeError('registerHandler needs a handler function');
    const v = typeof name === 'string' ? findOperationNameViolation(name) : ({ kind: 'empty' } as const);
    if (v !== undefined) throw new BuildError({ kind: 'invalid_handler', name: String(name), message: nameViolationMessage(String(name), v) });
    if (this.#handlers.has(name)) throw new BuildError({ kind: 'duplicate_handler', name });
    this.#handlers.set(name, handler);
    return this;
  }

  /** Registers every descriptor of a module (validated first); handlers are registered separately. */
  mount(module: Module): this {
    const problem = module.findProblem();
    if (problem !== undefined) throw new BuildError({ kind: 'invalid_module', name: module.name, message: problem });
    for (const d of module.operations) this.registerOperation(d);
    return this;
  }

  /**
   * Snapshots (every field read once, frozen), validates the snapshot, then refuses a taken name: nothing is
   * inserted on failure. The snapshot is what gets registered, so what was validated is what dispatch checks.
   */
  #checkDescriptor(input: OperationDescriptor): OperationDescriptor {
    const name = typeof input?.name === 'string' ? input.name : String(input?.name);
    let d: OperationDescriptor;
    try {
      if (typeof input !== 'object' || input === null || !(input.effectRow instanceof EffectRow)) throw new TypeError('not an EffectRow');
      d = snapshotDescriptor(input);
    } catch (err) {
      throw new BuildError({ kind: 'invalid_operation', name, message: 'not an operation descriptor (use operationDescriptor or defineOperation)' }, { cause: err });
    }
    const err = validateDescriptor(d);
    if (err !== undefined) throw new BuildError({ kind: 'invalid_operation', name, message: err.message }, { cause: err });
    if (this.#descriptors.has(d.name)) throw new BuildError({ kind: 'duplicate_operation', name: d.name });
    return d;
  }

  /** The one admission guard (a later call replaces it; `undefined` clears it). */
  admissionGuard(guard: AdmissionGuard | undefined): this {
    if (guard !== undefined && typeof guard !== 'function') throw new TypeError('admission guard must be a function');
    this.#guard = guard;
    return this;
  }

  receiptSink(sink: ReceiptSink): this {
    if (typeof sink?.recordReceipt !== 'function') throw new TypeError('receipt sink must have recordReceipt(envelope)');
    this.#receiptSink = sink;
    return this;
  }

  /** States on purpose that this Core banks no receipts. A configured receiptSink still wins. */
  withoutReceipts(): this {
    this.#receiptsOptedOut = true;
    return this;
  }

  /** Optional status facts (`undefined` clears). Facts are written even when receipts are off. */
  statusSink(sink: OperationStatusSink | undefined): this {
    if (sink !== undefined && typeof sink.recordFact !== 'function') throw new TypeError('status sink must have recordFact(fact)');
    this.#statusSink = sink;
    return this;
  }

  /** Default `'blake3'`; `'deferred'` records no hashes. */
  receiptHashPolicy(policy: ReceiptHashPolicy): this {
    this.#hashPolicy = checkHashPolicy(policy);
    return this;
  }

  /**
   * Grants a capability token to every operation, or with `{ operation }` to that one operation only (which must
   * be registered by build(), else `ERR_UNKNOWN_GRANT_OPERATION`). The five effect-axis tokens are ambient.
   */
  grantCapability(token: string, options: { readonly operation?: string } = {}): this {
    if (typeof token !== 'string') throw new TypeError('capability token must be a string');
    const op = options.operation;
    if (op === undefined) {
      this.#granted.add(token);
      return this;
    }
    if (typeof op !== 'string') throw new TypeError('grant operation must be a string');
    let set = this.#operationGrants.get(op);
    if (set === undefined) this.#operationGrants.set(op, (set = new Set()));
    set.add(token);
    return this;
  }

  grantCapabilities(tokens: Iterable<string>, options: { readonly operation?: string } = {}): this {
    for (const t of tokens) this.grantCapability(t, options);
    return this;
  }

  effectBackend(backend: EffectBackend | undefined): this {
    if (backend !== undefined && typeof backend.appendEvent !== 'function') throw new TypeError('effect backend must have appendEvent(kind, payload)');
    this.#backend = backend;
    return this;
  }

  /**
   * How many dispatches of the built Core run at once (default 64); later ones wait and start in arrival
   * order. `1` runs one checkout at a time, strictly in arrival order (Rust's `&mut Core`); `Infinity` never
   * waits. Each checkout keeps its own Ctx, effect record, check and receipt whatever the setting.
   */
  maxConcurrentDispatches(limit: number): this {
    if (typeof limit !== 'number' || !(limit === Infinity || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw new RangeError(`maxConcurrentDispatches must be a positive integer or Infinity, got ${String(limit)}`);
    }
    this.#maxConcurrent = limit;
    return this;
  }

  /** Builds a Core from a snapshot of this builder (the builder stays usable, e.g. as a per-connection factory). */
  build(): Core {
    for (const name of [...this.#descriptors.keys()].sort(byName)) {
      if (!this.#handlers.has(name)) throw new BuildError({ kind: 'missing_handler', name });
    }
    for (const name of [...this.#handlers.keys()].sort(byName)) {
      if (!this.#descriptors.has(name)) throw new BuildError({ kind: 'missing_descriptor', name });
    }
    for (const name of [...this.#operationGrants.keys()].sort(byName)) {
      if (!this.#descriptors.has(name)) throw new BuildError({ kind: 'unknown_grant_operation', name });
    }
    if (this.#receiptSink === undefined && !this.#receiptsOptedOut) throw new BuildError({ kind: 'missing_receipt_sink' });
    return new CoreRuntime({
      descriptors: new Map(this.#descriptors),
      handlers: new Map(this.#handlers),
      guard: this.#guard,
      receiptSink: this.#receiptSink,
      statusSink: this.#statusSink,
      hashPolicy: this.#hashPolicy,
      backend: this.#backend,
      maxConcurrentDispatches: this.#maxConcurrent,
      grants: {
        all: new Set(this.#granted),
        byOperation: new Map([...this.#operationGrants].map(([op, set]) => [op, new Set(set)])),
      },
    });
  }
}
