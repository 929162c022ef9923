// The erasure oracle, checked by the simulations after every recovery (INV-SHRED-NO-COPIES, INV-TEMP-CLEANUP):
// no key the recovered keyset lists as destroyed is recoverable from any file in the directory, and no
// plaintext of a shredded scope is in any file. It learns key bytes from the keyset images the store writes.

import { decodeKeyset } from '../../src/keyset/file.js';
import { encodePayload } from '../../src/payload.js';
import type { SimFs } from '../../src/entry/testing.js';

const slot = (scope: Uint8Array, generation: number) => `${Buffer.from(scope).toString('hex')}/${generation}`;

export class ErasureWitness {
  /** Every key seen in a keyset image the store persisted, by (scope, generation). */
  readonly #keys = new Map<string, Uint8Array>();

  constructor(
    readonly dir: string,
    readonly granularity: 'entity' = 'entity',
  ) {}

  /** Call with every image written to keyset.bpk (before the store zeroes its buffer). */
  record(image: Uint8Array): void {
    try {
      for (const k of decodeKeyset(image.slice(), this.granularity, 'keyset.bpk').keys) this.#keys.set(slot(k.scope, k.generation), k.key.slice());
    } catch {
      // A damaged image is the recovery's business, not a source of keys.
    }
  }

  get keysSeen(): number {
    return this.#keys.size;
  }

  /**
   * The first violation, or undefined. `plaintexts` are payloads (as appended) of events whose scope a
   * completed shred must have erased.
   */
  check(sim: SimFs, plaintexts: readonly unknown[] = []): string | undefined {
    const files = [...sim.snapshot()].filter(([path]) => path.startsWith(`${this.dir}/`));
    const keyset = files.find(([path]) => path === `${this.dir}/keyset.bpk`);
    if (keyset !== undefined) {
      let destroyed: { scope: Uint8Array; generation: number }[] = [];
      try {
        destroyed = [...decodeKeyset(keyset[1].current, this.granularity, 'keyset.bpk').destroyed];
      } catch {
        // An unreadable keyset is judged by the recovery checks.
      }
      for (const d of destroyed) {
        const key = this.#keys.get(slot(d.scope, d.generation));
        if (key === undefined) continue;
        for (const [path, info] of files) {
          if (Buffer.from(info.current).indexOf(key) !== -1) {
            return `destroyed key ${slot(d.scope, d.generation)} is recoverable from ${path}`;
          }
        }
      }
    }
    for (const value of plaintexts) {
      const plain = Buffer.from(encodePayload(value));
      for (const [path, info] of files) {
        if (Buffer.from(info.current).indexOf(plain) !== -1) return `plaintext of a shredded scope (${JSON.stringify(value)}) is in ${path}`;
      }
    }
    return undefined;
  }
}
