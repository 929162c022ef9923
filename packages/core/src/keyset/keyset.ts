// The in-memory keyset: one 256-bit key per (scope, generation), destroyed generations remembered,
// and the durability fence (INV-KEY-FENCE): a mutation stays dirty until a flush that covers it succeeds.

import { randomBytes } from 'node:crypto';
import { BatpakError } from '../errors.js';
import { toHex } from '../encoding/hex.js';
import type { KeyGranularity } from './scope.js';
import { decodeKeyset, encodeKeyset, type KeyEntry } from './file.js';
import type { KeyStore } from './keystore.js';
import { SealContexts } from './seal-context.js';

/**
 * A scope's key as keyFor hands it out. `live` turns false when the key is destroyed (its bytes are then
 * zeros): a caller that keeps the handle must check it before each use.
 */
export interface KeyHandle {
  readonly generation: number;
  readonly key: Uint8Array;
  readonly live: boolean;
}

/** A live key entry; the object keyFor returns, so destroying it reaches every holder of the handle. */
class LiveKey implements KeyEntry, KeyHandle {
  readonly scope: Uint8Array;
  readonly generation: number;
  readonly key: Uint8Array;
  live = true;

  constructor(scope: Uint8Array, generation: number, key: Uint8Array) {
    this.scope = scope;
    this.generation = generation;
    this.key = key;
  }
}

export type KeyLookup =
  | { readonly state: 'present'; readonly key: Uint8Array }
  | { readonly state: 'destroyed' }
  | { readonly state: 'missing' };

const INSPECT = Symbol.for('nodejs.util.inspect.custom');
const slot = (scope: Uint8Array, generation: number) => `${toHex(scope)}/${generation}`;

export class Keyset {
  readonly granularity: KeyGranularity;
  /** The keyset image did not exist when the store opened (so a missing key may be a lost keyset). */
  readonly absentOnLoad: boolean;
  /** Per-coordinate sealing state (seal.ts): the keyset's, so it never outlives this keyset's keys. */
  readonly sealContexts: SealContexts;
  readonly #live = new Map<string, LiveKey>();
  /** Current live generation per scope (hex). */
  readonly #current = new Map<string, number>();
  readonly #destroyed = new Map<string, { scope: Uint8Array; generation: number }>();
  /** Highest generation ever used per scope, including ones only referenced by frames. */
  readonly #maxGeneration = new Map<string, number>();
  #mutations = 0;
  #flushed = 0;
  #flushing: Promise<void> = Promise.resolve();

  private constructor(granularity: KeyGranularity, absentOnLoad: boolean) {
    this.granularity = granularity;
    this.absentOnLoad = absentOnLoad;
    this.sealContexts = new SealContexts(granularity);
  }

  /** Loads the keyset from its store, failing closed on any damage; an absent image is an empty keyset. */
  static async load(store: KeyStore, granularity: KeyGranularity): Promise<Keyset> {
    const image = await store.load();
    if (image === undefined) return new Keyset(granularity, true);
    const decoded = decodeKeyset(image, granularity, store.name);
    const ks = new Keyset(granularity, false);
    for (const k of decoded.keys) ks.#install(k.scope, k.generation, new Uint8Array(k.key));
    for (const d of decoded.destroyed) {
      ks.#destroyed.set(slot(d.scope, d.generation), d);
      ks.noteGeneration(d.scope, d.generation);
    }
    image.fill(0);
    return ks;
  }

  #install(scope: Uint8Array, generation: number, key: Uint8Array): LiveKey {
    const hex = toHex(scope);
    const entry = new LiveKey(scope, generation, key);
    this.#live.set(slot(scope, generation), entry);
    if ((this.#current.get(hex) ?? -1) < generation) this.#current.set(hex, generation);
    this.noteGeneration(scope, generation);
    return entry;
  }

  /** Records that a frame references (scope, generation), so a re-mint never reuses its number. */
  noteGeneration(scope: Uint8Array, generation: number): void {
    const hex = toHex(scope);
    if ((this.#maxGeneration.get(hex) ?? -1) < generation) this.#maxGeneration.set(hex, generation);
  }

  /**
   * The scope's current key, minting one (and marking the keyset dirty) when it has none. A scope's current
   * key changes only by a destroy (a mint happens only when no key of the scope is live), so a handle that
   * is still `live` is still the scope's current key.
   */
  keyFor(scope: Uint8Array): KeyHandle {
    const hex = toHex(scope);
    const current = this.#current.get(hex);
    if (current !== undefined) {
      const entry = this.#live.get(slot(scope, current));
      if (entry !== undefined) return entry;
    }
    const generation = (this.#maxGeneration.get(hex) ?? -1) + 1;
    const entry = this.#install(new Uint8Array(scope), generation, new Uint8Array(randomBytes(32)));
    this.#mutations++;
    return entry;
  }

  lookup(scope: Uint8Array, generation: number): KeyLookup {
    const s = slot(scope, generation);
    const entry = this.#live.get(s);
    if (entry !== undefined) return { state: 'present', key: entry.key };
    if (this.#destroyed.has(s)) return { state: 'destroyed' };
    return { state: 'missing' };
  }

  /** Destroys every live generation of a scope; the key bytes are zeroed. Returns how many were destroyed. */
  destroy(scope: Uint8Array): number {
    const hex = toHex(scope);
    let count = 0;
    for (const [s, entry] of this.#live) {
      if (toHex(entry.scope) !== hex) continue;
      entry.live = false;
      entry.key.fill(0);
      this.#live.delete(s);
      this.#destroyed.set(s, { scope: entry.scope, generation: entry.generation });
      count++;
    }
    this.#current.delete(hex);
    if (count > 0) this.#mutations++;
    return count;
  }

  /**
   * Whether the scope ever had a key: a live or destroyed generation, or one a committed frame references
   * (its key may be lost). Tells "already shredded" from "never existed" (a typo) after a destroy of 0.
   */
  everKeyed(scope: Uint8Array): boolean {
    return this.#maxGeneration.has(toHex(scope));
  }

  /** A mint or destroy is not yet durable. */
  get dirty(): boolean {
    return this.#mutations > this.#flushed;
  }

  get liveCount(): number {
    return this.#live.size;
  }

  /** The current state as a keyset image (live keys, destroyed generations): a snapshot copies this. */
  image(): Uint8Array {
    return encodeKeyset({ granularity: this.granularity, keys: [...this.#live.values()], destroyed: [...this.#destroyed.values()] });
  }

  /**
   * Persists the current state if dirty. Flushes run one at a time, each writing the state as of its
   * start, so an older image can never land after a newer one. Only success clears `dirty`.
   */
  flush(store: KeyStore, options: { readonly force?: boolean } = {}): Promise<void> {
    const run = this.#flushing.then(async () => {
      if (!this.dirty && options.force !== true) return;
      const target = this.#mutations;
      const image = encodeKeyset({ granularity: this.granularity, keys: [...this.#live.values()], destroyed: [...this.#destroyed.values()] });
      try {
        await store.persist(image);
      } finally {
        image.fill(0);
      }
      this.#flushed = Math.max(this.#flushed, target);
    });
    this.#flushing = run.catch(() => undefined);
    return run.catch((err: unknown) => {
      throw err instanceof BatpakError ? err : new BatpakError('ERR_IO', `keyset flush failed: ${String(err)}`, { cause: err });
    });
  }

  toString(): string {
    return `Keyset(${this.granularity}, ${this.#live.size} live, ${this.#destroyed.size} destroyed)`;
  }

  toJSON(): { granularity: KeyGranularity; live: number; destroyed: number } {
    return { granularity: this.granularity, live: this.#live.size, destroyed: this.#destroyed.size };
  }

  [INSPECT](): string {
    return this.toString();
  }
}
