// Subscription ids: `name.vN` — lowercase name, a `.v` version suffix split at the last `.v`, version without leading zero.
// Invariant: checks run in Rust's order and each failure has its stable reason string; valid: `orders.open.v1`, `a.v1.v2`.

export const MAX_SUBSCRIPTION_ID_BYTES = 128;

const utf8 = new TextEncoder();
const isLowerOrDigit = (b: number) => (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39);

/** The first rule `id` breaks, as Rust's reason string, or undefined when valid. */
export function findSubscriptionIdViolation(id: string): string | undefined {
  const bytes = utf8.encode(id);
  if (bytes.length === 0) return 'empty subscription id';
  if (bytes.length > MAX_SUBSCRIPTION_ID_BYTES) return 'subscription id longer than 128 bytes';
  if (id.startsWith('.') || id.endsWith('.')) return "subscription id has a leading or trailing '.'";
  if (id.includes('..')) return "subscription id has a doubled '.'";
  const dotV = id.lastIndexOf('.v');
  if (dotV < 0) return 'subscription id must contain a .v version suffix';
  const name = utf8.encode(id.slice(0, dotV));
  const version = id.slice(dotV + 2);
  if (name.length === 0) return 'subscription id name prefix is empty';
  if (!isLowerOrDigit(name[0]!)) return 'subscription id must start with [a-z0-9]';
  for (const b of name) {
    if (!isLowerOrDigit(b) && b !== 0x2e && b !== 0x5f && b !== 0x2d) return 'subscription id has characters outside [a-z0-9._-]';
  }
  if (version.length === 0) return 'subscription id missing version digits after .v';
  const first = version.charCodeAt(0);
  if (first < 0x31 || first > 0x39) return 'subscription id version must start with 1-9';
  if (!/^[0-9]+$/.test(version)) return 'subscription id version must be digits only';
  return undefined;
}
