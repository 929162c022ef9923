// The structural check behind schema validation: do these bytes start with one well-formed MessagePack value?
// Invariant: mirrors Rust's `from_bytes::<IgnoredAny>` — any value (ext and non-UTF-8 strings too) passes, trailing bytes are ignored.

/** Rust rmp-serde's default nesting limit. */
const MAX_DEPTH = 1024;

/** Markers followed by a fixed number of payload bytes (numbers, fixext). */
const FIXED: ReadonlyMap<number, number> = new Map([
  [0xca, 4], [0xcb, 8],
  [0xcc, 1], [0xcd, 2], [0xce, 4], [0xcf, 8],
  [0xd0, 1], [0xd1, 2], [0xd2, 4], [0xd3, 8],
  [0xd4, 2], [0xd5, 3], [0xd6, 5], [0xd7, 9], [0xd8, 17],
]);

type Sized = readonly [width: 1 | 2 | 4, shape: 'bytes' | 'ext' | 'array' | 'map'];
/** Markers followed by a big-endian length: str/bin byte counts, ext (length + type byte), array/map entry counts. */
const SIZED: ReadonlyMap<number, Sized> = new Map<number, Sized>([
  [0xc4, [1, 'bytes']], [0xc5, [2, 'bytes']], [0xc6, [4, 'bytes']],
  [0xd9, [1, 'bytes']], [0xda, [2, 'bytes']], [0xdb, [4, 'bytes']],
  [0xc7, [1, 'ext']], [0xc8, [2, 'ext']], [0xc9, [4, 'ext']],
  [0xdc, [2, 'array']], [0xdd, [4, 'array']],
  [0xde, [2, 'map']], [0xdf, [4, 'map']],
]);

/**
 * Why `bytes` does not begin with a complete MessagePack value, or undefined when it does. Deliberately not
 * the strict canonical decoder: Rust accepts non-canonical widths, ext types and invalid UTF-8 here.
 */
export function msgpackValueProblem(bytes: Uint8Array): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  // Values still owed by each open container; the top-level value is the first owed value.
  const owed: number[] = [1];
  const fits = (n: number) => n <= bytes.length - pos;

  while (owed.length > 0) {
    const top = owed.length - 1;
    if (owed[top] === 0) {
      owed.pop();
      continue;
    }
    owed[top]! -= 1;
    const at = pos;
    if (!fits(1)) return `truncated value at offset ${pos}`;
    const b = bytes[pos++]!;
    let skip = 0;
    let children = 0;
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) skip = 0;
    else if (b <= 0x8f) children = (b & 0x0f) * 2;
    else if (b <= 0x9f) children = b & 0x0f;
    else if (b <= 0xbf) skip = b & 0x1f;
    else if (FIXED.has(b)) skip = FIXED.get(b)!;
    else {
      const sized = SIZED.get(b);
      if (sized === undefined) return `reserved marker 0x${b.toString(16)} at offset ${at}`;
      const [width, shape] = sized;
      if (!fits(width)) return `truncated value at offset ${pos}`;
      const n = width === 1 ? view.getUint8(pos) : width === 2 ? view.getUint16(pos) : view.getUint32(pos);
      pos += width;
      if (shape === 'bytes') skip = n;
      else if (shape === 'ext') skip = n + 1;
      else children = shape === 'array' ? n : n * 2;
    }
    if (!fits(skip)) return `truncated value at offset ${pos}`;
    pos += skip;
    if (children > 0) {
      if (owed.length > MAX_DEPTH) return `nesting deeper than ${MAX_DEPTH} at offset ${at}`;
      // Every value takes at least one byte: a forged count fails here instead of looping.
      if (!fits(children)) return `truncated value at offset ${pos}`;
      owed.push(children);
    }
  }
  return undefined;
}
