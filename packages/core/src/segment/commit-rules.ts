// Recovery's commit rules fed one frame at a time: whole batches and sealed signed groups become
// committed together, everything in a compacted segment at once. Holds only the pending group, so a
// walk over a segment of any size stays bounded (committedEventOffsets folds a whole array with it).

import { EventFlags } from './frame.js';
import type { ScannedFrame } from './scan.js';

export class CommitRules<T extends ScannedFrame = ScannedFrame> {
  readonly #compacted: boolean;
  #pending: T[] = [];
  #pendingSealed = 0;
  #batchFirst = -1;
  #batchSeen = 0;

  /** `compacted`: the segment header's COMPACTED flag (every event frame there is committed). */
  constructor(compacted: boolean) {
    this.#compacted = compacted;
  }

  /**
   * Whether nothing is pending (no open batch, no unsealed group): the next event frame without a batch ref or the
   * sealed flag is then committed the moment it is pushed, as in a compacted segment, where every event frame is.
   */
  get idle(): boolean {
    return this.#pending.length === 0 && this.#batchFirst === -1;
  }

  /** Feeds the next frame in file order; returns the event frames it commits (maybe none), in file order. */
  push(sf: T): readonly T[] {
    const f = sf.frame;
    if (f.type === 1) {
      if (this.#compacted) return [];
      const pending = this.#pending;
      const first = pending[0]?.frame;
      const last = pending[pending.length - 1]?.frame;
      const matches =
        pending.length > 0 &&
        this.#pendingSealed === pending.length &&
        f.count === pending.length &&
        this.#batchFirst === -1 &&
        first?.type === 0 &&
        last?.type === 0 &&
        first.globalSequence === f.firstSequence &&
        last.globalSequence === f.lastSequence;
      return matches ? this.#commit() : this.#discard();
    }
    if (this.#compacted) return [sf];
    const sealed = (f.flags & EventFlags.SEALED) !== 0;
    const b = f.batch;
    if (b !== undefined) {
      if (b.index === 0) {
        if (this.#batchFirst !== -1) this.#discard();
        this.#batchFirst = b.first;
        this.#batchSeen = 0;
      } else if (this.#batchFirst !== b.first || this.#batchSeen !== b.index) {
        this.#discard();
        this.#batchFirst = -1;
        return [];
      }
      this.#batchSeen++;
    } else if (this.#batchFirst !== -1) {
      this.#discard();
      this.#batchFirst = -1;
    }
    if (!sealed && this.#pendingSealed > 0) this.#discard();
    this.#pending.push(sf);
    if (sealed) this.#pendingSealed++;
    if (b !== undefined && this.#batchSeen === b.count) this.#batchFirst = -1;
    return !sealed && this.#batchFirst === -1 ? this.#commit() : [];
  }

  #commit(): readonly T[] {
    const out = this.#pending;
    this.#pending = [];
    this.#pendingSealed = 0;
    return out;
  }

  #discard(): readonly T[] {
    this.#pending = [];
    this.#pendingSealed = 0;
    return [];
  }
}
