// HostControlEffectBackend: where a control-class operation's declared host controls are actually performed, by a HostController.
// Invariant: a control reaches the controller only if the calling hosted operation declares it (INV-HOSTBAT-HOST-CONTROL-DECLARED).

import type { EventKind } from '@batpak/core';
import { EffectError, type EffectBackend } from '@batpak/syncbat';
import { messageOf } from './errors.js';
import { currentOperation } from './operation-scope.js';
import { unsupported } from './unsupported.js';

/** Performs the control named by an operation's declared control id. Throw (or reject) to refuse. */
export type HostController = ((controlId: string) => void | Promise<void>) | { perform(controlId: string): void | Promise<void> };

/** What a controller may throw to refuse; any thrown error works, this one just reads well. */
export class HostControlError extends Error {
  override readonly name = 'HostControlError';
}

export interface HostControlEffectBackendOptions {
  readonly controller: HostController;
  /** The store backend every other axis goes to; without one they fail closed. */
  readonly inner?: EffectBackend;
}

function performerOf(controller: HostController): (controlId: string) => void | Promise<void> {
  if (typeof controller === 'function') return controller;
  if (typeof controller?.perform === 'function') return (id) => controller.perform(id);
  throw new TypeError('host controller must be a function or an object with perform(controlId)');
}

/**
 * `useHostControl(id)` → `controller(id)`; a refusal becomes EffectError `host control failure: {message}`. Inside a
 * hosted operation a control the operation does not declare is NOT performed: the call resolves so the Ctx records
 * it and the Core denies the checkout with `effect.violation` — Rust's receipt, without Rust's perform-then-check
 * side effect. Outside a host (a bare syncbat Core) there is no operation scope and the Core's check alone applies.
 */
export class HostControlEffectBackend implements EffectBackend {
  readonly #perform: (controlId: string) => void | Promise<void>;
  readonly #inner: EffectBackend | undefined;

  constructor(options: HostControlEffectBackendOptions) {
    this.#perform = performerOf(options.controller);
    if (options.inner !== undefined && typeof options.inner.appendEvent !== 'function') {
      throw new TypeError('inner effect backend must have appendEvent(kind, payload)');
    }
    this.#inner = options.inner;
  }

  async useHostControl(controlId: string): Promise<void> {
    const op = currentOperation();
    if (op !== undefined && !op.effectRow.usesHostControls.includes(controlId)) return;
    try {
      await this.#perform(controlId);
    } catch (err) {
      throw new EffectError(`host control failure: ${messageOf(err)}`, { cause: err });
    }
  }

  async appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> {
    if (this.#inner === undefined) throw new EffectError('event appends are not supported without an inner effect backend');
    await this.#inner.appendEvent(kind, payload);
  }

  async readEvent(category: string): Promise<void> {
    if (this.#inner?.readEvent === undefined) unsupported('readEvent');
    await this.#inner.readEvent(category);
  }

  async queryProjection(projectionId: string): Promise<void> {
    if (this.#inner?.queryProjection === undefined) unsupported('queryProjection');
    await this.#inner.queryProjection(projectionId);
  }

  async emitReceipt(receiptKind: string): Promise<void> {
    if (this.#inner?.emitReceipt === undefined) unsupported('emitReceipt');
    await this.#inner.emitReceipt(receiptKind);
  }
}
