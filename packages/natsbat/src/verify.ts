// Remote verification of an exported stream with only public keys: stream order, per-entity chain
// links, content hashes and receipt signatures. Invariant: `intact` is true only when every one holds
// (gaps and tombstones, which cannot be checked, are listed) (INV-NATSBAT-REMOTE-VERIFY).

import { blake3, isValid, toHex, verifyReceiptClaim } from '@batpak/core';
import type { ExportedEvent } from './message.js';

export interface StreamVerificationReport {
  readonly messagesChecked: number;
  /** Stream sequence of the last message checked (0n when none). */
  readonly lastStreamSequence: bigint;
  /** Global sequence of the last well-formed event checked (0n when none). */
  readonly lastGlobalSequence: bigint;
  /** Messages that are not natsbat export messages, with why. */
  readonly malformed: readonly { readonly streamSequence: bigint; readonly reason: string }[];
  /** Stream sequences with no message (deleted, or lost from the stream's head), as inclusive ranges. */
  readonly missingMessages: readonly { readonly from: bigint; readonly to: bigint }[];
  /** Events whose global sequence is not above the previous event's. */
  readonly outOfOrder: readonly string[];
  /** Events seen more than once. */
  readonly duplicates: readonly string[];
  /** Events whose payload does not hash (blake3) to the receipt's contentHash. */
  readonly contentHashMismatches: readonly string[];
  /** Events whose prevHash or entitySequence does not follow their entity's previous event in the stream. */
  readonly danglingLinks: readonly string[];
  /** Events whose entity's earlier events are not in the stream (compacted away before export): unchecked links. */
  readonly gaps: readonly string[];
  /** Tombstones: the payload was removed before export, so its hash cannot be checked. */
  readonly tombstones: readonly string[];
  /** Receipts that are not valid under the given public keys (an unsigned one is invalid when keys are given). */
  readonly receiptFailures: readonly { readonly eventId: string; readonly reason: string }[];
  /** True when nothing but gaps and tombstones was found. */
  readonly intact: boolean;
}

const ZERO_HASH = toHex(new Uint8Array(32));

/** Checks exported events fed in stream order; `report()` at any time. */
export class ExportVerifier {
  readonly #keys: readonly Uint8Array[];
  #expected: bigint;
  #checked = 0;
  #lastStream = 0n;
  #lastGlobal = 0n;
  readonly #heads = new Map<string, { readonly entitySequence: bigint; readonly contentHash: string }>();
  readonly #seen = new Set<string>();
  readonly #malformed: { streamSequence: bigint; reason: string }[] = [];
  readonly #missing: { from: bigint; to: bigint }[] = [];
  readonly #outOfOrder: string[] = [];
  readonly #duplicates: string[] = [];
  readonly #hashMismatches: string[] = [];
  readonly #dangling: string[] = [];
  readonly #gaps: string[] = [];
  readonly #tombstones: string[] = [];
  readonly #receiptFailures: { eventId: string; reason: string }[] = [];

  /** `publicKeys`: the store's (and any older) ed25519 public keys; none accepts only unsigned receipts. */
  constructor(options: { readonly publicKeys: readonly Uint8Array[]; readonly firstSequence?: bigint }) {
    this.#keys = options.publicKeys;
    this.#expected = options.firstSequence ?? 1n;
  }

  /** A message that could not be decoded (it still takes its place in the stream order). */
  addMalformed(streamSequence: bigint, reason: string): void {
    this.#position(streamSequence);
    this.#malformed.push({ streamSequence, reason });
  }

  add(e: ExportedEvent): void {
    this.#position(e.streamSequence);
    const r = e.receipt;
    const id = r.eventId;
    if (this.#seen.has(id)) {
      this.#duplicates.push(id);
      return;
    }
    this.#seen.add(id);
    if (r.globalSequence <= this.#lastGlobal) this.#outOfOrder.push(id);
    this.#lastGlobal = r.globalSequence > this.#lastGlobal ? r.globalSequence : this.#lastGlobal;
    const contentHash = toHex(r.contentHash);
    if (e.tombstone) {
      this.#tombstones.push(id);
      if (e.payload.length !== 0) this.#hashMismatches.push(id);
    } else if (toHex(blake3(e.payload)) !== contentHash) {
      this.#hashMismatches.push(id);
    }
    const entity = r.coordinate.entity;
    const head = this.#heads.get(entity);
    const prevHash = toHex(r.prevHash);
    if (head !== undefined) {
      if (r.entitySequence !== head.entitySequence + 1n || prevHash !== head.contentHash) this.#dangling.push(id);
    } else if (r.entitySequence === 1n) {
      if (prevHash !== ZERO_HASH) this.#dangling.push(id);
    } else {
      this.#gaps.push(id);
    }
    this.#heads.set(entity, { entitySequence: r.entitySequence, contentHash });
    const verdict = verifyReceiptClaim(r, this.#keys);
    if (!isValid(verdict)) this.#receiptFailures.push({ eventId: id, reason: verdict.reason ?? verdict.status });
  }

  #position(seq: bigint): void {
    this.#checked++;
    if (seq > this.#expected) this.#missing.push({ from: this.#expected, to: seq - 1n });
    if (seq >= this.#expected) this.#expected = seq + 1n;
    this.#lastStream = seq;
  }

  /** Records that the stream ends at `lastSequence`: messages after the last one checked are missing. */
  end(lastSequence: bigint): void {
    if (lastSequence >= this.#expected) this.#missing.push({ from: this.#expected, to: lastSequence });
    this.#expected = lastSequence + 1n;
  }

  report(): StreamVerificationReport {
    const intact =
      this.#malformed.length === 0 &&
      this.#missing.length === 0 &&
      this.#outOfOrder.length === 0 &&
      this.#duplicates.length === 0 &&
      this.#hashMismatches.length === 0 &&
      this.#dangling.length === 0 &&
      this.#receiptFailures.length === 0;
    return {
      messagesChecked: this.#checked,
      lastStreamSequence: this.#lastStream,
      lastGlobalSequence: this.#lastGlobal,
      malformed: [...this.#malformed],
      missingMessages: [...this.#missing],
      outOfOrder: [...this.#outOfOrder],
      duplicates: [...this.#duplicates],
      contentHashMismatches: [...this.#hashMismatches],
      danglingLinks: [...this.#dangling],
      gaps: [...this.#gaps],
      tombstones: [...this.#tombstones],
      receiptFailures: [...this.#receiptFailures],
      intact,
    };
  }
}
