// ValidatingEffectBackend: host-mediated appends must carry a payload that passes the event kind's bound event-payload schema.
// Invariant: an append of an unbound kind, or with a payload that fails its schema, never reaches the inner backend.

import type { EventKind } from '@batpak/core';
import { EffectError, stageAppendsThrough, type EffectBackend } from '@batpak/syncbat';
import { messageOf } from './errors.js';
import { rawKind } from './event-payload-binding.js';
import { hexKind } from './quote.js';
import type { SchemaRegistry } from './schema-registry.js';
import { unsupported } from './unsupported.js';

/** Reads, queries, emits and host controls pass straight through (or fail closed if the inner backend lacks them). */
export class ValidatingEffectBackend implements EffectBackend {
  readonly #inner: EffectBackend;
  readonly #bindings: ReadonlyMap<number, string>;
  readonly #registry: SchemaRegistry;

  /** `bindings`: raw u16 kind → event-payload schema ref. */
  constructor(inner: EffectBackend, bindings: ReadonlyMap<number, string>, registry: SchemaRegistry) {
    if (typeof inner?.appendEvent !== 'function') throw new TypeError('inner effect backend must have appendEvent(kind, payload)');
    this.#inner = inner;
    this.#bindings = new Map(bindings);
    this.#registry = registry;
    // Over a StoreEffectBackend the Core stages appends into the invocation's one commit: checked here first.
    stageAppendsThrough(this, inner, (kind, payload) => this.#check(kind, payload));
  }

  async appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> {
    this.#check(kind, payload);
    await this.#inner.appendEvent(kind, payload);
  }

  #check(kind: EventKind, payload: Uint8Array): void {
    const raw = rawKind(kind);
    const ref = this.#bindings.get(raw);
    if (ref === undefined) throw new EffectError(`event kind ${hexKind(raw)} has no payload schema binding`);
    try {
      this.#registry.validate(ref, 'event-payload', payload);
    } catch (err) {
      throw new EffectError(`event kind ${hexKind(raw)} payload schema validation failed: ${messageOf(err)}`, { cause: err });
    }
  }

  async readEvent(category: string): Promise<void> {
    if (this.#inner.readEvent === undefined) unsupported('readEvent');
    await this.#inner.readEvent(category);
  }

  async queryProjection(projectionId: string): Promise<void> {
    if (this.#inner.queryProjection === undefined) unsupported('queryProjection');
    await this.#inner.queryProjection(projectionId);
  }

  async emitReceipt(receiptKind: string): Promise<void> {
    if (this.#inner.emitReceipt === undefined) unsupported('emitReceipt');
    await this.#inner.emitReceipt(receiptKind);
  }

  async useHostControl(controlId: string): Promise<void> {
    if (this.#inner.useHostControl === undefined) unsupported('useHostControl');
    await this.#inner.useHostControl(controlId);
  }
}
