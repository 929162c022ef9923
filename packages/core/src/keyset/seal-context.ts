// Per-coordinate sealing state: what is the same for every event of one (entity, scope, kind) — its key scope
// bytes, its AAD up to the event id, the scope's key — made once instead of once per sealed event.
// Invariants: the bytes come from the reference encoders (scopeOf, payloadAad); the cache is bounded (emptied
// when full); a cached key handle is used only while it is live (a shred turns it off: Keyset.keyFor).

import { payloadAad } from './aad.js';
import type { KeyHandle } from './keyset.js';
import { scopeOf, type KeyGranularity } from './scope.js';

/** Contexts kept at most (a store with millions of entities must not grow this without limit). */
export const SEAL_CONTEXTS_MAX = 4096;

const EVENT_ID_BYTES = 16;
const NO_ID = new Uint8Array(EVENT_ID_BYTES);

export class SealContext {
  /** The key scope bytes; undefined under 'event' granularity, where each event is a scope of its own. */
  readonly scope: Uint8Array | undefined;
  /** The scope's key as last handed out by the keyset; whoever uses it checks `live` first. */
  key: KeyHandle | undefined = undefined;
  /** payloadAad of this coordinate and kind, its last 16 bytes (the event id) rewritten by aadFor. */
  readonly #aad: Uint8Array;

  constructor(granularity: KeyGranularity, entity: string, scope: string, kind: number) {
    this.scope = granularity === 'event' ? undefined : scopeOf(granularity, entity, kind, NO_ID);
    this.#aad = payloadAad(entity, scope, kind, NO_ID);
  }

  /**
   * The AAD of the event `id` (payloadAad's bytes). One buffer per context, rewritten by each call: valid
   * until the next call, which is long enough for the AEAD, which reads it and keeps no reference.
   */
  aadFor(id: Uint8Array): Uint8Array {
    this.#aad.set(id, this.#aad.length - EVENT_ID_BYTES);
    return this.#aad;
  }
}

/** The seal contexts of one keyset, by entity, then coordinate scope, then kind. */
export class SealContexts {
  readonly #granularity: KeyGranularity;
  readonly #max: number;
  readonly #byEntity = new Map<string, Map<string, Map<number, SealContext>>>();
  #size = 0;

  constructor(granularity: KeyGranularity, max = SEAL_CONTEXTS_MAX) {
    this.#granularity = granularity;
    this.#max = max;
  }

  /** How many contexts are cached (never more than the bound). */
  get size(): number {
    return this.#size;
  }

  /** The context of (entity, scope, kind): the cached one, or a new one (the cache is emptied first when full). */
  of(entity: string, scope: string, kind: number): SealContext {
    const known = this.#byEntity.get(entity)?.get(scope)?.get(kind);
    if (known !== undefined) return known;
    if (this.#size >= this.#max) {
      this.#byEntity.clear();
      this.#size = 0;
    }
    let byScope = this.#byEntity.get(entity);
    if (byScope === undefined) this.#byEntity.set(entity, (byScope = new Map()));
    let byKind = byScope.get(scope);
    if (byKind === undefined) byScope.set(scope, (byKind = new Map()));
    const made = new SealContext(this.#granularity, entity, scope, kind);
    byKind.set(kind, made);
    this.#size++;
    return made;
  }
}
