// HostControlEffectBackend: where a control-class operation's declared host controls are actually performed, by a HostController.
// Invariant: the backend is reachable only through a live syncbat Ctx, which refuses undeclared controls before calling it
// (INV-HOSTBAT-HOST-CONTROL-DECLARED); no ambient async state decides who may perform a control.

import type { EventKind } from '@batpak/core';
import { EffectError, stageAppendsThrough, type EffectBackend } from '@batpak/syncbat';
import { messageOf } from './errors.js';
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
 * `useHostControl(id)` → `controller(id)`; a refusal becomes EffectError `host control failure: {message}`. The
 * syncbat Ctx calls this only for a control its operation declares, and only while its dispatch is live: an
 * undeclared control is refused by the Ctx before it gets here (and the Core denies the checkout with
 * `effect.violation`), so the controller never runs for it — in a host and on a bare Core alike.
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
    // Appends pass straight to the inner backend; over a store they are staged into the invocation's commit.
    if (options.inner !== undefined) stageAppendsThrough(this, options.inner);
  }

  async useHostControl(controlId: string): Promise<void> {
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
