// Well-formed UTF-16: the one check for strings that are about to be encoded as UTF-8 for a hash, a key or a frame.
// Invariant: a string with a lone surrogate is refused, never encoded — TextEncoder would write U+FFFD and merge it with a real U+FFFD.

type MaybeWellFormed = string & { isWellFormed?: () => boolean };

// Node >= 20 has String.prototype.isWellFormed; the pattern is the fallback (and the reference) elsewhere.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` holds no lone (unpaired) UTF-16 surrogate, so its UTF-8 bytes encode it exactly. */
export function isWellFormedString(s: string): boolean {
  const native = (s as MaybeWellFormed).isWellFormed;
  return typeof native === 'function' ? native.call(s) : !LONE_SURROGATE.test(s);
}
