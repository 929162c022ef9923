// Rust `{:?}` quoting of a string, used wherever a Rust Display embeds an id (`module "orders" is incoherent`).
// Invariant: for printable ASCII the result equals JSON quoting, so messages read the same as Rust's.

/** `"` and `\` escaped; `\t \r \n \0` as escapes; other control characters as `\u{hex}`. */
export function quote(value: string): string {
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

/** `0x%04x`: how Rust hostbat renders a raw event kind. */
export function hexKind(raw: number): string {
  return `0x${raw.toString(16).padStart(4, '0')}`;
}
