// Rust ordering for JS values: `String`/`BTreeMap` order is byte-wise over UTF-8, not UTF-16 code units.
// Invariant: every list a digest covers is sorted with these comparators, so digests never depend on JS string order.

const utf8 = new TextEncoder();

/** Byte-wise UTF-8 comparison (Rust `str::cmp`); differs from `<` only above U+FFFF, but names are free strings. */
export function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Lexicographic comparison of tuples already reduced to per-position comparison results. */
export function thenBy(...results: readonly number[]): number {
  for (const r of results) if (r !== 0) return r;
  return 0;
}

export function utf8Length(s: string): number {
  return utf8.encode(s).length;
}
