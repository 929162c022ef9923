// Checks a store against an attestation while verifyChain streams the log: the store must *extend* the
// attested state — every attested event present and unchanged, in order (INV-ATTEST-EXTENDS).

import type { RemovedEvent } from '../compaction/log.js';
import { leafOfFrame } from '../receipt/seal-check.js';
import type { EventFrame } from '../segment/frame.js';
import { bytesEqual } from '../encoding/hex.js';
import { HeadCommitment } from './commit.js';
import type { HeadAttestation } from './statement.js';
import { verifyAttestation } from './verify.js';
import type { AttestationCheck } from '../types.js';

/**
 * Folds the stream of committed frames (ascending global sequence) and the records of events
 * compaction removed (trusted records only) into a head, up to the attested sequence.
 */
export class HeadStream {
  readonly #limit: bigint | undefined;
  readonly #removed: readonly RemovedEvent[];
  #next = 0;
  readonly commitment = new HeadCommitment();
  /** Highest global sequence the store shows, beyond the limit too. */
  #highest = 0n;

  /** `limit`: fold only events up to this sequence (undefined: all). `removed`: sorted by sequence. */
  constructor(limit: bigint | undefined, removed: readonly RemovedEvent[]) {
    this.#limit = limit;
    this.#removed = [...removed].sort((a, b) => a.globalSequence - b.globalSequence);
  }

  #within(g: bigint): boolean {
    return this.#limit === undefined || g <= this.#limit;
  }

  #foldRemovedBelow(g: number): void {
    while (this.#next < this.#removed.length && this.#removed[this.#next]!.globalSequence < g) {
      const r = this.#removed[this.#next++]!;
      const seq = BigInt(r.globalSequence);
      if (seq > this.#highest) this.#highest = seq;
      // A record without a leaf (older logs, unsigned groups) cannot be proven: it is left out, and a
      // check that needs it reports the count or head mismatch.
      if (r.leaf !== undefined && this.#within(seq) && seq > this.commitment.globalSequence) this.commitment.add(seq, r.id, r.leaf);
    }
    // A record at the very sequence of a present frame is superseded by the frame.
    while (this.#next < this.#removed.length && this.#removed[this.#next]!.globalSequence === g) this.#next++;
  }

  /** One committed event frame, in ascending global sequence. */
  frame(frame: EventFrame): void {
    this.#foldRemovedBelow(frame.globalSequence);
    const g = BigInt(frame.globalSequence);
    if (g > this.#highest) this.#highest = g;
    if (this.#within(g) && g > this.commitment.globalSequence) this.commitment.add(g, frame.id, leafOfFrame(frame));
  }

  /** After the last frame. */
  finish(): void {
    this.#foldRemovedBelow(Number.MAX_SAFE_INTEGER);
  }

  get highest(): bigint {
    return this.#highest;
  }
}

/** Compares what the stream folded with the attestation (after `stream.finish()`). */
export function judge(expect: HeadAttestation, keys: readonly Uint8Array[], stream: HeadStream): AttestationCheck {
  const base = { globalSequence: expect.globalSequence, eventCount: expect.eventCount };
  const verdict = verifyAttestation(expect, keys);
  if (verdict.status !== 'valid') return { ...base, status: 'unverified', reason: `the attestation does not verify with this store's keys: ${verdict.reason}` };
  const c = stream.commitment;
  if (stream.highest < expect.globalSequence) {
    return {
      ...base,
      status: 'truncated',
      reason:
        `the store ends at global sequence ${stream.highest} (${c.eventCount} events), but the attestation covers ` +
        `${expect.eventCount} events up to ${expect.globalSequence}: it was truncated or rolled back to an older copy`,
    };
  }
  if (c.eventCount !== expect.eventCount) {
    const what = c.eventCount < expect.eventCount ? 'attested events are missing (a deleted segment, removed frames, or a forged index)' : 'events were inserted';
    return { ...base, status: 'diverged', reason: `the store holds ${c.eventCount} events up to global sequence ${expect.globalSequence}, the attestation ${expect.eventCount}: ${what}` };
  }
  if (!bytesEqual(c.head, expect.head)) {
    return { ...base, status: 'diverged', reason: `the events up to global sequence ${expect.globalSequence} differ from the attested ones (a rewritten prefix, or a fork after a rollback)` };
  }
  return { ...base, status: 'extends' };
}
