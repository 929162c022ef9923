// Remote verification of an exported stream with only public keys: stream order, per-entity chain
// links, content hashes, receipt signatures and the store's attestations riding on the events.
// Invariant: `intact` is true only when every one holds (gaps and tombstones, which cannot be checked,
// are listed) (INV-NATSBAT-REMOTE-VERIFY, INV-NATSBAT-ATTEST).

import { blake3, HeadCommitment, isValid, toHex, verifyAttestation, verifyReceiptClaim } from '@batpak/core';
import { ZERO_HASH } from '@batpak/core/format';
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
  /** Attestations carried by the stream that the events before them extend (signature valid, same head). */
  readonly attestationsChecked: number;
  /**
   * Attestations that do not hold: bad signature, or the stream's events up to it are not exactly the
   * attested ones (missing, rewritten, or compacted away before the export). Each fails `intact`.
   */
  readonly attestationFailures: readonly { readonly eventId: string; readonly streamSequence: bigint; readonly reason: string }[];
  /** True when nothing but gaps and tombstones was found. */
  readonly intact: boolean;
}

/** The prevHash of an entity's first event, as the hex the export messages carry. */
const ZERO_HASH_HEX = toHex(ZERO_HASH);

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
  /** The running head over the receipts seen; undefined once it cannot be folded (out of order, mid-stream start). */
  #head: HeadCommitment | undefined;
  #attestationsChecked = 0;
  readonly #attestationFailures: { eventId: string; streamSequence: bigint; reason: string }[] = [];

  /** `publicKeys`: the store's (and any older) ed25519 public keys; none accepts only unsigned receipts. */
  constructor(options: { readonly publicKeys: readonly Uint8Array[]; readonly firstSequence?: bigint }) {
    this.#keys = options.publicKeys;
    this.#expected = options.firstSequence ?? 1n;
    // Attestations cover a store from its first event: a verification that starts mid-stream cannot fold them.
    this.#head = this.#expected === 1n ? new HeadCommitment() : undefined;
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
      if (prevHash !== ZERO_HASH_HEX) this.#dangling.push(id);
    } else {
      this.#gaps.push(id);
    }
    this.#heads.set(entity, { entitySequence: r.entitySequence, contentHash });
    const verdict = verifyReceiptClaim(r, this.#keys);
    if (!isValid(verdict)) this.#receiptFailures.push({ eventId: id, reason: verdict.reason ?? verdict.status });
    if (this.#head !== undefined && r.globalSequence > this.#head.globalSequence) this.#head.addReceipt(r);
    else this.#head = undefined;
    if (e.attestation !== undefined) this.#checkAttestation(e);
  }

  #checkAttestation(e: ExportedEvent): void {
    const a = e.attestation!;
    const fail = (reason: string): void => void this.#attestationFailures.push({ eventId: e.receipt.eventId, streamSequence: e.streamSequence, reason });
    const v = verifyAttestation(a, this.#keys);
    if (v.status !== 'valid') return fail(`the attestation does not verify: ${v.reason ?? v.status}`);
    const head = this.#head;
    if (head === undefined) return fail('the stream before it is out of order or was not read from its start: the attestation cannot be checked');
    if (head.globalSequence !== a.globalSequence || head.eventCount !== a.eventCount) {
      return fail(
        `the stream holds ${head.eventCount} events up to global sequence ${head.globalSequence}, the attestation ${a.eventCount} up to ${a.globalSequence}: ` +
          'events are missing (lost messages, or compacted away before they were exported)',
      );
    }
    if (toHex(head.head) !== toHex(a.head)) return fail(`the events up to global sequence ${a.globalSequence} differ from the attested ones`);
    this.#attestationsChecked++;
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
      this.#receiptFailures.length === 0 &&
      this.#attestationFailures.length === 0;
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
      attestationsChecked: this.#attestationsChecked,
      attestationFailures: [...this.#attestationFailures],
      intact,
    };
  }
}
