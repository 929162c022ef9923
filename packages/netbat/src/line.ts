// Byte-level line helpers shared by the NETBAT/1 and NETBAT/2 codecs: line-ending strip, field split, text views.
// Invariant: fields are split on single 0x20 bytes only, so an empty field between two spaces is a real (empty) field.

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** Drops one trailing `\n`, then one trailing `\r` (a bare trailing `\r` is tolerated too). */
export function stripLineEnding(line: Uint8Array): Uint8Array {
  let end = line.length;
  if (end > 0 && line[end - 1] === LF) end--;
  if (end > 0 && line[end - 1] === CR) end--;
  return line.subarray(0, end);
}

/** Splits on every space; `a  b` yields three fields, the middle one empty. */
export function splitFields(line: Uint8Array): Uint8Array[] {
  const fields: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < line.length; i++) {
    if (line[i] === SPACE) {
      fields.push(line.subarray(start, i));
      start = i + 1;
    }
  }
  fields.push(line.subarray(start));
  return fields;
}

export function bytesEqualAscii(bytes: Uint8Array, ascii: string): boolean {
  if (bytes.length !== ascii.length) return false;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== ascii.charCodeAt(i)) return false;
  return true;
}

export function startsWithAscii(bytes: Uint8Array, ascii: string): boolean {
  if (bytes.length < ascii.length) return false;
  for (let i = 0; i < ascii.length; i++) if (bytes[i] !== ascii.charCodeAt(i)) return false;
  return true;
}

/** UTF-8 text, or `undefined` when the bytes are not valid UTF-8. */
export function utf8OrUndefined(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** UTF-8 text with invalid sequences replaced by U+FFFD (Rust `String::from_utf8_lossy`). */
export function utf8Lossy(bytes: Uint8Array): string {
  return lossyUtf8.decode(bytes);
}

export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Joins ASCII/UTF-8 fields with single spaces and appends `\n`. */
export function joinLine(fields: ReadonlyArray<string | Uint8Array>): Uint8Array {
  const parts = fields.map((f) => (typeof f === 'string' ? encoder.encode(f) : f));
  const size = parts.reduce((n, p) => n + p.length, 0) + parts.length;
  const out = new Uint8Array(size);
  let at = 0;
  parts.forEach((p, i) => {
    if (i > 0) out[at++] = SPACE;
    out.set(p, at);
    at += p.length;
  });
  out[at] = LF;
  return out;
}
