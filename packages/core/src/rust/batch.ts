// Rust's batch recovery state machine (RUST-INTEROP.md § Segment and frame rules, Batches): BEGIN/COMMIT markers decide
// which frames are committed. Invariant: a batch's items become visible all together or not at all.

import { RUST_MAX_BATCH_ITEMS, RustKinds } from './format.js';

/** What a frame did to the state machine; `publish` lists what is now committed, in order. */
export interface BatchStep<T> {
  readonly publish: readonly T[];
  /** Set when the frame belongs to a batch that was just published (its position and the batch size). */
  readonly batchOf?: ReadonlyMap<T, { readonly index: number; readonly count: number }>;
  /** Something Rust logs as a warning (a discarded or stray batch). */
  readonly warning?: string;
}

/**
 * Carries batch state across segments, exactly as Rust does: a batch may straddle a rotation in recovery
 * even though Rust's writer never splits one.
 */
export class RustBatchState<T> {
  #inBatch = false;
  #remaining = 0;
  #declared = 0;
  #staged: T[] = [];

  get inBatch(): boolean {
    return this.#inBatch;
  }

  get stagedCount(): number {
    return this.#staged.length;
  }

  /**
   * Validates a BEGIN marker's count (its `payload_size`): 1..=1,000,000, as Rust's checked_batch_count.
   * Returns the reason it is invalid, or undefined.
   */
  static invalidCount(count: number): string | undefined {
    return count === 0 || count > RUST_MAX_BATCH_ITEMS ? `invalid batch marker count ${count}; expected 1..=${RUST_MAX_BATCH_ITEMS}` : undefined;
  }

  /** Feeds one decoded frame (its raw kind); markers are never published themselves. */
  step(kind: number, payloadSize: number, item: T): BatchStep<T> {
    if (!this.#inBatch) {
      if (kind === RustKinds.SYSTEM_BATCH_BEGIN) {
        this.#begin(payloadSize);
        return { publish: [] };
      }
      if (kind === RustKinds.SYSTEM_BATCH_COMMIT) return { publish: [], warning: 'orphaned batch COMMIT marker ignored' };
      return { publish: [item] };
    }
    if (kind === RustKinds.SYSTEM_BATCH_COMMIT) {
      const staged = this.#staged;
      const complete = this.#remaining === 0;
      const declared = this.#declared;
      this.#reset();
      if (!complete) {
        return { publish: [], warning: `batch COMMIT after ${staged.length} of ${declared} items: the batch is discarded` };
      }
      const batchOf = new Map<T, { index: number; count: number }>();
      staged.forEach((s, index) => batchOf.set(s, { index, count: staged.length }));
      return { publish: staged, batchOf };
    }
    if (kind === RustKinds.SYSTEM_BATCH_BEGIN) {
      const dropped = this.#staged.length;
      this.#begin(payloadSize);
      return { publish: [], warning: `batch BEGIN inside a batch: ${dropped} staged item(s) discarded` };
    }
    if (this.#remaining === 0) {
      const dropped = this.#staged.length;
      this.#reset();
      return { publish: [], warning: `batch holds more items than declared: ${dropped} staged item(s) and this frame discarded` };
    }
    this.#staged.push(item);
    this.#remaining--;
    return { publish: [] };
  }

  /** End of the newest segment: a batch still open there never committed. */
  finish(): string | undefined {
    if (!this.#inBatch) return undefined;
    const dropped = this.#staged.length;
    this.#reset();
    return `incomplete batch at the end of the log: ${dropped} staged item(s) discarded`;
  }

  #begin(count: number): void {
    this.#inBatch = true;
    this.#remaining = count;
    this.#declared = count;
    this.#staged = [];
  }

  #reset(): void {
    this.#inBatch = false;
    this.#remaining = 0;
    this.#declared = 0;
    this.#staged = [];
  }
}
