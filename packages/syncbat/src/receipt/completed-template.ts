// Completed-receipt template: the envelope bytes of a completed invocation that performed exactly its declared effects
// and attached nothing — all fixed per descriptor but the two hashes, so encoded once and the hashes spliced in per dispatch.
// Invariant: template.encode(in, out) equals encodeReceiptEnvelope of the same envelope, byte for byte (checked at build).

import { cstr, encodeCanonical } from '@batpak/core';
import { encodeReceiptEnvelope } from './envelope.js';
import type { Drawer } from './drawer.js';

const EMPTY_DRAWER: Drawer = new Map();

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function startsWithAt(bytes: Uint8Array, at: number, part: Uint8Array): boolean {
  if (at + part.length > bytes.length) return false;
  for (let i = 0; i < part.length; i++) if (bytes[at + i] !== part[i]) return false;
  return true;
}

/** Encoded length of a hash field: nil, or a 32-entry u8 array (0xdc 0x00 0x20, then 1 or 2 bytes per entry). */
function hashLength(h: Uint8Array | undefined): number {
  if (h === undefined) return 1;
  let n = 3 + h.length;
  for (let i = 0; i < h.length; i++) if (h[i]! >= 0x80) n++;
  return n;
}

function writeHash(out: Uint8Array, at: number, h: Uint8Array | undefined): number {
  if (h === undefined) {
    out[at] = 0xc0;
    return at + 1;
  }
  out[at++] = 0xdc;
  out[at++] = 0x00;
  out[at++] = 0x20;
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    if (x >= 0x80) out[at++] = 0xcc;
    out[at++] = x;
  }
  return at;
}

export class CompletedEnvelopeTemplate {
  /** Map header through the `input_hash` key. */
  readonly #head: Uint8Array;
  /** The `output_hash` key. */
  readonly #middle: Uint8Array;
  /** `outcome` through the end: `Completed`, the signed drawer, an empty local drawer. */
  readonly #tail: Uint8Array;

  private constructor(head: Uint8Array, middle: Uint8Array, tail: Uint8Array) {
    this.#head = head;
    this.#middle = middle;
    this.#tail = tail;
  }

  /**
   * The template for a completed receipt of `descriptorName`/`receiptKind` whose signed drawer is `signed` and whose
   * local drawer is empty. Built from the generic encoder's own bytes (with nil hashes), split at the hash fields.
   */
  static of(descriptorName: string, receiptKind: string, signed: Drawer): CompletedEnvelopeTemplate {
    const whole = encodeReceiptEnvelope({ descriptorName, receiptKind, outcome: { class: 'completed' }, signedExtensions: signed, localExtensions: EMPTY_DRAWER });
    const head = concat([Uint8Array.of(0x87), ...['descriptor_name', descriptorName, 'receipt_kind', receiptKind, 'input_hash'].map((s) => encodeCanonical(cstr(s)))]);
    const middle = encodeCanonical(cstr('output_hash'));
    const at = head.length + 1 + middle.length + 1;
    // The layout this class relies on, checked once: head, nil, middle, nil, tail.
    if (!startsWithAt(whole, 0, head) || whole[head.length] !== 0xc0 || !startsWithAt(whole, head.length + 1, middle) || whole[at - 1] !== 0xc0) {
      throw new Error('receipt envelope layout is not the one the completed template splits');
    }
    return new CompletedEnvelopeTemplate(head, middle, whole.slice(at));
  }

  /** The envelope bytes with these hashes (each 32 bytes, or undefined under the `deferred` policy). */
  encode(inputHash: Uint8Array | undefined, outputHash: Uint8Array | undefined): Uint8Array {
    if ((inputHash !== undefined && inputHash.length !== 32) || (outputHash !== undefined && outputHash.length !== 32)) {
      throw new RangeError('receipt hashes must be 32 bytes');
    }
    const head = this.#head;
    const middle = this.#middle;
    const tail = this.#tail;
    const out = new Uint8Array(head.length + hashLength(inputHash) + middle.length + hashLength(outputHash) + tail.length);
    out.set(head, 0);
    let at = writeHash(out, head.length, inputHash);
    out.set(middle, at);
    at = writeHash(out, at + middle.length, outputHash);
    out.set(tail, at);
    return out;
  }
}
