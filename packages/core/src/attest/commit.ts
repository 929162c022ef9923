// The head commitment: a running blake3 over every committed event in global-sequence order, so a
// verifier proves "these exact events, in this order" by streaming the log once (INV-ATTEST-EXTENDS).

import { blake3 } from '../crypto/blake3.js';
import { BatpakError } from '../errors.js';
import { fromHex } from '../encoding/hex.js';
import { coverLeaf, receiptCover } from '../receipt/cover.js';
import { malformedField } from '../receipt/verify.js';
import type { AppendReceipt } from '../types.js';

const U64_MAX = (1n << 64n) - 1n;
/** Domain separation of one step of the running hash. */
const STEP_DOMAIN = new TextEncoder().encode('batpak.head.v1\0');

/**
 * head_0 = 32 zero bytes; head_i = blake3("batpak.head.v1" 00 ‖ head_{i-1} ‖ u64be g ‖ eventId ‖ leaf),
 * where leaf = blake3(00 ‖ receipt cover) is the event's receipt-cover Merkle leaf (FORMAT.md § Head
 * attestations). The leaf commits to every receipt field; g and the id make a step readable alone.
 */
export class HeadCommitment {
  #head: Uint8Array = new Uint8Array(32);
  #count = 0n;
  #last = 0n;

  /** Global sequence of the last event folded in (0n when none). */
  get globalSequence(): bigint {
    return this.#last;
  }

  /** Events folded in so far. */
  get eventCount(): bigint {
    return this.#count;
  }

  /** The running hash (a copy). */
  get head(): Uint8Array {
    return this.#head.slice();
  }

  /** Folds in one event; sequences must strictly increase. */
  add(globalSequence: bigint, eventId: Uint8Array, leaf: Uint8Array): void {
    if (typeof globalSequence !== 'bigint' || globalSequence > U64_MAX) throw BatpakError.invalidArgument('head commitment: a global sequence is a u64 bigint');
    if (globalSequence <= this.#last) {
      throw BatpakError.invalidArgument(`head commitment: global sequence ${globalSequence} does not follow ${this.#last}`);
    }
    if (!(eventId instanceof Uint8Array) || eventId.length !== 16 || !(leaf instanceof Uint8Array) || leaf.length !== 32) {
      throw BatpakError.invalidArgument('head commitment: an event id is 16 bytes and a leaf 32');
    }
    const g = new Uint8Array(8);
    new DataView(g.buffer).setBigUint64(0, globalSequence);
    this.#head = blake3(STEP_DOMAIN, this.#head, g, eventId, leaf);
    this.#count++;
    this.#last = globalSequence;
  }

  /** Folds in an event from its receipt alone (what a remote verifier of an export holds). */
  addReceipt(receipt: AppendReceipt): void {
    const bad = malformedField(receipt);
    if (bad !== undefined) throw new BatpakError('ERR_INVALID_RECEIPT', `receipt field ${bad} is malformed`, { details: { field: bad } });
    this.add(receipt.globalSequence, fromHex(receipt.eventId, 'eventId'), coverLeaf(receiptCover(receipt)));
  }
}
