// Direct writer of receipt envelope bytes: the one encoding every dispatch performs, without building a value tree.
// Invariant: for any envelope it accepts, the bytes equal encodeCanonical(receiptEnvelopeValue(e)); anything outside its
// fast path (a non-ASCII string or drawer key) returns undefined and the caller uses the generic encoder.

import type { Drawer } from './drawer.js';
import type { ReceiptEnvelope } from './envelope.js';

/**
 * A growable byte buffer writing only the msgpack forms a receipt uses, in their shortest (canonical) form.
 * `ascii` reports false instead of writing when a string is not 7-bit, so the caller can fall back.
 */
class Writer {
  buf: Uint8Array;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Header of a map or array of `n` entries (fix form up to 15, else 16/32-bit). */
  header(n: number, fix: number, tag16: number): void {
    this.ensure(5);
    const buf = this.buf;
    if (n <= 15) buf[this.pos++] = fix | n;
    else if (n <= 0xffff) {
      buf[this.pos++] = tag16;
      buf[this.pos++] = n >>> 8;
      buf[this.pos++] = n & 0xff;
    } else {
      buf[this.pos++] = tag16 + 1;
      buf[this.pos++] = n >>> 24;
      buf[this.pos++] = (n >>> 16) & 0xff;
      buf[this.pos++] = (n >>> 8) & 0xff;
      buf[this.pos++] = n & 0xff;
    }
  }

  /** An ASCII string as fixstr / str8 / str16 / str32; false (nothing written) if it holds a non-ASCII code unit. */
  ascii(s: string): boolean {
    if (typeof s !== 'string') return false;
    const n = s.length;
    this.ensure(n + 5);
    const buf = this.buf;
    const start = this.pos;
    let p = start + (n <= 31 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5);
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[p++] = c;
    }
    if (n <= 31) buf[start] = 0xa0 | n;
    else if (n <= 0xff) {
      buf[start] = 0xd9;
      buf[start + 1] = n;
    } else if (n <= 0xffff) {
      buf[start] = 0xda;
      buf[start + 1] = n >>> 8;
      buf[start + 2] = n & 0xff;
    } else {
      buf[start] = 0xdb;
      buf[start + 1] = n >>> 24;
      buf[start + 2] = (n >>> 16) & 0xff;
      buf[start + 3] = (n >>> 8) & 0xff;
      buf[start + 4] = n & 0xff;
    }
    this.pos = p;
    return true;
  }

  /** Bytes as Rust's `Vec<u8>`/`[u8; N]`: an array of u8 integers (positive fixint, or 0xcc then the byte). */
  byteArray(b: Uint8Array): void {
    this.header(b.length, 0x90, 0xdc);
    this.ensure(b.length * 2);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < b.length; i++) {
      const x = b[i]!;
      if (x >= 0x80) buf[p++] = 0xcc;
      buf[p++] = x;
    }
    this.pos = p;
  }
}

/** Field names of the envelope struct, in declaration order, each a fixstr written once. */
const KEYS = ['descriptor_name', 'receipt_kind', 'input_hash', 'output_hash', 'outcome', 'signed_extensions', 'local_extensions'].map((k) => {
  const out = new Uint8Array(k.length + 1);
  out[0] = 0xa0 | k.length;
  for (let i = 0; i < k.length; i++) out[i + 1] = k.charCodeAt(i);
  return out;
});

function key(w: Writer, i: number): void {
  const k = KEYS[i]!;
  w.ensure(k.length);
  w.buf.set(k, w.pos);
  w.pos += k.length;
}

function hash(w: Writer, h: Uint8Array | undefined, field: string): boolean {
  if (h === undefined) {
    w.u8(0xc0);
    return true;
  }
  if (!(h instanceof Uint8Array)) return false;
  if (h.length !== 32) throw new RangeError(`${field} must be 32 bytes, got ${h.length}`);
  w.byteArray(h);
  return true;
}

/** A drawer in BTreeMap order. ASCII keys only: for them UTF-16 order is UTF-8 byte order. */
function drawer(w: Writer, d: Drawer): boolean {
  if (!(d instanceof Map)) return false;
  w.header(d.size, 0x80, 0xde);
  if (d.size === 0) return true;
  const keys = [...d.keys()];
  if (keys.length > 1) keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    const v = d.get(k);
    if (!w.ascii(k) || !(v instanceof Uint8Array)) return false;
    w.byteArray(v);
  }
  return true;
}

/**
 * One scratch writer for every envelope: writing is synchronous, so no two envelopes share it at once, and each
 * result is a copy of its bytes. A usual receipt fits its 512 B; one that grew it past 64 KiB leaves a fresh one.
 */
let scratch = new Writer(512);

function finish(w: Writer): Uint8Array {
  const out = w.buf.slice(0, w.pos);
  if (w.buf.length > 65536) scratch = new Writer(512);
  return out;
}

/** The canonical envelope bytes, or undefined when a string is outside the ASCII fast path. */
export function writeReceiptEnvelope(e: ReceiptEnvelope): Uint8Array | undefined {
  const w = scratch;
  w.pos = 0;
  w.u8(0x87);
  key(w, 0);
  if (!w.ascii(e.descriptorName)) return undefined;
  key(w, 1);
  if (!w.ascii(e.receiptKind)) return undefined;
  key(w, 2);
  if (!hash(w, e.inputHash, 'inputHash')) return undefined;
  key(w, 3);
  if (!hash(w, e.outputHash, 'outputHash')) return undefined;
  key(w, 4);
  const o = e.outcome;
  if (o.class === 'completed') w.ascii('Completed');
  else if (o.class === 'failed' || o.class === 'denied') {
    // serde's externally tagged struct variant: { Variant: { code, message } }.
    w.u8(0x81);
    w.ascii(o.class === 'failed' ? 'Failed' : 'Denied');
    w.u8(0x82);
    w.ascii('code');
    if (!w.ascii(o.code)) return undefined;
    w.ascii('message');
    if (!w.ascii(o.message)) return undefined;
  } else return undefined;
  key(w, 5);
  if (!drawer(w, e.signedExtensions)) return undefined;
  key(w, 6);
  if (!drawer(w, e.localExtensions)) return undefined;
  return finish(w);
}
