// Rust `{:?}` quoting of a string, used where Rust messages embed a target (effect violations, capabilities).
// Invariant: for the ASCII name grammar the output equals JSON quoting, so messages match Rust byte for byte.

/**
 * Quotes `value` the way Rust's `Debug for str` does: `"` and `\` escaped, `\t \r \n \0` as escapes, other
 * control characters as `\u{hex}`. Non-ASCII printable characters pass through, as in Rust. (Rust also
 * escapes a few non-printable Unicode classes; those never occur in validated targets.)
 */
export function rustDebugString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp === 0) out += '\\0';
    else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0xd800 && cp <= 0xdfff)) out += `\\u{${cp.toString(16)}}`;
    else out += ch;
  }
  return `${out}"`;
}
