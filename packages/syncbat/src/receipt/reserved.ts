// Reserved receipt drawer keys: the `syncbat.` namespace belongs to the runtime (emit stamps, observed effects, extensions).
// Invariant: a handler or guard can never write a `syncbat.*` key, so every such entry in a receipt is the runtime's own record.

export const RESERVED_RECEIPT_KEY_PREFIX = 'syncbat.';

/** Local-drawer key prefix of `ctx.emitReceipt(kind, payload)` stamps: `syncbat.emit_receipt.{kind}`. */
export const EMIT_RECEIPT_KEY_PREFIX = 'syncbat.emit_receipt.';

export function isReservedReceiptKey(key: string): boolean {
  return key.startsWith(RESERVED_RECEIPT_KEY_PREFIX);
}
