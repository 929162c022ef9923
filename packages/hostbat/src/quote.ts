// Rust `{:?}` quoting of a string, used wherever a Rust Display embeds an id (`module "orders" is incoherent`).
// Invariant: for printable ASCII the result equals JSON quoting, so messages read the same as Rust's.

/** `"` and `\` escaped; `\t \r \n \0` as escapes; other control characters as `\u{hex}` (syncbat's). */
export { rustDebugString as quote } from '@batpak/syncbat';

/** `0x%04x`: how Rust hostbat renders a raw event kind. */
export function hexKind(raw: number): string {
  return `0x${raw.toString(16).padStart(4, '0')}`;
}
