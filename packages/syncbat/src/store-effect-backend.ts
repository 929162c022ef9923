// StoreEffectBackend: performs a handler's reads, appends and projection queries through one @batpak/core store coordinate.
// Invariant: emit and host-control stay at the fail-closed defaults — a store is neither a receipt sink nor a host.

import { cbin, Coordinate, encodeCanonical, type EventKind, type Store } from '@batpak/core';
import { EffectError, type EffectBackend } from './effect-backend.js';
import { bindThrough, bindToStore, type AppendCheck } from './store-binding.js';

function effectError(err: unknown): EffectError {
  return new EffectError(err instanceof Error ? err.message : String(err), { cause: err });
}

export class StoreEffectBackend implements EffectBackend {
  readonly #store: Store;
  readonly coordinate: Coordinate;

  constructor(store: Store, coordinate: Coordinate | { readonly entity: string; readonly scope: string }) {
    this.#store = store;
    this.coordinate = coordinate instanceof Coordinate ? coordinate : new Coordinate(coordinate.entity, coordinate.scope);
    bindToStore(this, StoreEffectBackend, store, this.coordinate);
  }

  /**
   * Appends at the bound coordinate. The stored payload is the handler's bytes wrapped in one msgpack `bin`
   * (Rust's layout, written with the canonical encoder), appended raw so any registry accepts it. Reserved
   * kinds (categories 0x0, 0xD) are refused by the store.
   */
  async appendEvent(kind: EventKind, payload: Uint8Array): Promise<void> {
    try {
      await this.#store.appendRaw(this.coordinate, kind, encodeCanonical(cbin(payload)));
    } catch (err) {
      throw effectError(err);
    }
  }

  /**
   * Reads the latest event of the bound entity back from disk (succeeds on an empty stream), so a declared
   * read is a real store read and a broken store surfaces as an EffectError. The category is only the
   * operation's identity token. Core has no "entity head" lookup, so the newest event is found by probing
   * ever wider `after` windows from the end of the log: O(log n) index searches, a handful of reads.
   */
  async readEvent(category: string): Promise<void> {
    void category;
    const entity = this.coordinate.entity;
    try {
      const last = this.#store.lastSequence;
      for (let span = 1n; ; span *= 2n) {
        const after = last > span ? last - span : 0n;
        let found = false;
        for await (const _event of this.#store.query({ entity, after })) found = true;
        if (found || after === 0n) return;
      }
    } catch (err) {
      throw effectError(err);
    }
  }

  /**
   * Touches the bound scope through the store (one event at most, since the handle returns nothing), so a
   * closed or broken store fails the query. The projection id is the operation's identity token.
   */
  async queryProjection(projectionId: string): Promise<void> {
    void projectionId;
    try {
      for await (const _event of this.#store.query({ scope: this.coordinate.scope, limit: 1 })) break;
    } catch (err) {
      throw effectError(err);
    }
  }
}

/**
 * Declares that `wrapper` (an effect backend that checks appends, then hands them to `inner`) appends exactly as
 * `inner` does once `check` passes — `inner` being a StoreEffectBackend, or a wrapper declared this way. A Core whose
 * receipts go to the same store then stages the wrapper's appends into the invocation's one commit, running `check`
 * (synchronous; throw to refuse) when the handler calls `ctx.appendEvent`; every other axis still goes to the
 * wrapper. Returns false, and declares nothing, when `inner` is not store-bound: the wrapper is then an ordinary
 * backend whose effects are performed when called.
 */
export function stageAppendsThrough(wrapper: EffectBackend, inner: EffectBackend, check?: AppendCheck): boolean {
  return bindThrough(wrapper, inner, check);
}
