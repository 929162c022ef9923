// The one canonical-MessagePack check the in-place frame readers share: a payload bin with its smallest header whose
// bytes end exactly where the body ends. Invariant: -1 for anything the canonical encoder would not have written.

/**
 * Where the bytes of the bin at `b[p]` start, when its header is the smallest for its length (bin 8 / 16 / 32) and its
 * bytes end exactly at `end`; otherwise -1.
 */
export function canonicalBinToEnd(b: Uint8Array, p: number, end: number): number {
  const m = b[p];
  let n: number;
  let at: number;
  if (m === 0xc4) {
    n = b[p + 1]!;
    at = p + 2;
  } else if (m === 0xc5) {
    n = (b[p + 1]! << 8) | b[p + 2]!;
    if (n <= 0xff) return -1;
    at = p + 3;
  } else if (m === 0xc6) {
    n = ((b[p + 1]! << 24) | (b[p + 2]! << 16) | (b[p + 3]! << 8) | b[p + 4]!) >>> 0;
    if (n <= 0xffff) return -1;
    at = p + 5;
  } else return -1;
  return at + n === end ? at : -1;
}
