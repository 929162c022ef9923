// Receipt limits: every part of a receipt a handler or guard controls is bounded when it is attached or thrown, so
// a receipt can never be too large for the store to bank (INV-SYNCBAT-RECEIPT-BOUNDED).
// Invariant: drawers hold at most RECEIPT_LIMITS.drawerBytes in total; outcome codes and messages are cut to their limits.

/**
 * The bounds (UTF-8 bytes). With the other fields (hashes, names, the effects record, all bounded by the
 * descriptor) a receipt stays under 1.1 MiB — a store banking receipts needs `payloadMaxBytes` ≥ 2 MiB
 * (the default is 16 MiB).
 */
export const RECEIPT_LIMITS = Object.freeze({
  /** One drawer key. */
  keyBytes: 1024,
  /** One drawer value (`attachSigned`, `attachLocal`, an `emitReceipt` payload). */
  valueBytes: 256 * 1024,
  /** Keys plus values of both drawers together. */
  drawerBytes: 1024 * 1024,
  /** An outcome message: a handler's reason, a thrown error's message, a guard's denial message. */
  messageBytes: 4096,
  /** An outcome code (a guard's denial code). */
  codeBytes: 256,
});

const utf8 = new TextEncoder();

/** UTF-8 length of `s`, or a number over `limit` without encoding a string that must be over it. */
export function utf8Length(s: string, limit: number): number {
  return s.length > limit ? s.length : utf8.encode(s).length;
}

/** `s` cut to at most `limit` UTF-8 bytes on a character boundary, marked when it was cut. */
export function boundText(s: string, limit: number): string {
  if (s.length * 3 <= limit) return s;
  const bytes = utf8.encode(s);
  if (bytes.length <= limit) return s;
  const marker = ` … (cut from ${bytes.length} bytes)`;
  let end = limit - utf8.encode(marker).length;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end)) + marker;
}
