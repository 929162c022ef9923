// StoreReceiptSink: banks each envelope as a @batpak/core event, so receipts are hash-chained and signed like any event.
// Invariant: the stored payload is exactly encodeReceiptEnvelope(envelope); the store's contentHash covers every drawer byte.

import { Coordinate, type AppendReceipt, type Store } from '@batpak/core';
import { SYNCBAT_RECEIPT_KIND } from '../kinds.js';
import { sortedDrawer, type Drawer } from './drawer.js';
import { encodeReceiptEnvelope, type ReceiptEnvelope } from './envelope.js';
import type { ReceiptSink, RecordedReceipt } from './sink.js';
import { bindToStore } from '../store-binding.js';

const utf8 = new TextEncoder();

/** `syncbat.{field}`: the namespace of receipt extension keys. A field may not contain `.`. */
export function syncbatExtensionKey(field: string): string {
  if (field.length === 0 || field.includes('.')) throw new RangeError(`syncbat extension field must be non-empty and dot-free: ${JSON.stringify(field)}`);
  return `syncbat.${field}`;
}

const DRAWER_BLOB_MAGIC = utf8.encode('syncbat.drawer.v1\0');

/** `syncbat.drawer.v1\0`, then per entry in key order: u64-BE key length, key, u64-BE value length, value. */
export function encodeDrawerBlob(drawer: Drawer): Uint8Array {
  const entries = sortedDrawer(drawer);
  let size = DRAWER_BLOB_MAGIC.length;
  for (const e of entries) size += 16 + e.keyBytes.length + e.value.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  out.set(DRAWER_BLOB_MAGIC, 0);
  let at = DRAWER_BLOB_MAGIC.length;
  for (const e of entries) {
    view.setBigUint64(at, BigInt(e.keyBytes.length));
    out.set(e.keyBytes, at + 8);
    at += 8 + e.keyBytes.length;
    view.setBigUint64(at, BigInt(e.value.length));
    out.set(e.value, at + 8);
    at += 8 + e.value.length;
  }
  return out;
}

/**
 * The receipt extensions Rust's StoreReceiptSink attaches to the append, in this order:
 * descriptor, outcome, kind (if non-empty), input/output hashes (if present), signed drawer blob (if
 * non-empty). @batpak/core's AppendOptions cannot carry extensions yet, so the sink does not attach them;
 * the same bytes are still covered by the signature through the payload's contentHash.
 */
export function receiptExtensions(e: ReceiptEnvelope): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  out.set(syncbatExtensionKey('descriptor'), utf8.encode(e.descriptorName));
  out.set(syncbatExtensionKey('outcome'), utf8.encode(e.outcome.class));
  if (e.receiptKind.length > 0) out.set(syncbatExtensionKey('kind'), utf8.encode(e.receiptKind));
  if (e.inputHash !== undefined) out.set(syncbatExtensionKey('input'), new Uint8Array(e.inputHash));
  if (e.outputHash !== undefined) out.set(syncbatExtensionKey('output'), new Uint8Array(e.outputHash));
  if (e.signedExtensions.size > 0) out.set(syncbatExtensionKey('signed'), encodeDrawerBlob(e.signedExtensions));
  return out;
}

/**
 * Appends every envelope at one coordinate under {@link SYNCBAT_RECEIPT_KIND} (0xC5B7) as raw bytes: the
 * payload is the canonical envelope, byte-identical to Rust's. Read one back with
 * `decodeReceiptEnvelope((await store.getRaw(recorded.appendReceipt.eventId)).bytes)`.
 */
export class StoreReceiptSink implements ReceiptSink {
  readonly #store: Store;
  readonly coordinate: Coordinate;

  constructor(store: Store, coordinate: Coordinate | { readonly entity: string; readonly scope: string }) {
    this.#store = store;
    this.coordinate = coordinate instanceof Coordinate ? coordinate : new Coordinate(coordinate.entity, coordinate.scope);
    bindToStore(this, StoreReceiptSink, store, this.coordinate);
  }

  async recordReceipt(envelope: ReceiptEnvelope): Promise<RecordedReceipt> {
    const bytes = encodeReceiptEnvelope(envelope);
    let appendReceipt: AppendReceipt;
    try {
      appendReceipt = await this.#store.appendRaw(this.coordinate, SYNCBAT_RECEIPT_KIND, bytes);
    } catch (err) {
      throw new Error(`batpak receipt append failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    return { envelope, appendReceipt };
  }
}
