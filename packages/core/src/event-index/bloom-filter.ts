// A Bloom filter over byte keys, as a segment index file stores it (FORMAT.md § Segment index files,
// Bloom filters): ~10 bits per key, 7 probes (~1 % false positives), never a false negative. Its bits are
// a pure function of the keys and a seed taken from the file's content, so a rebuild writes the same bytes.

/** Bits per key and probes per key: 10 bits and k = 7 give about 0.8 % false positives. */
export const BLOOM_BITS_PER_KEY = 10;
export const BLOOM_PROBES = 7;
/** Fewest bits a filter has (an empty or tiny set still gets a well-formed filter). */
export const BLOOM_MIN_BITS = 64;
/** Section layout: u32 bit count, u8 probes, 3 reserved bytes, u32 seed, the bits (LSB first), u32 CRC-32. */
export const BLOOM_HEADER_BYTES = 12;

/** Bit count of a filter over `keys` keys: a multiple of 8, at least BLOOM_MIN_BITS. */
export const bloomBitsFor = (keys: number): number => Math.max(BLOOM_MIN_BITS, Math.ceil((keys * BLOOM_BITS_PER_KEY) / 8) * 8);
/** Section length (header, bits, CRC) of a filter over `keys` keys. */
export const bloomSectionBytes = (keys: number): number => BLOOM_HEADER_BYTES + bloomBitsFor(keys) / 8 + 4;

/** MurmurHash3 (x86, 32-bit) of `bytes` with `seed`: fast, well mixed, and the same on every platform. */
export function murmur3(bytes: Uint8Array, seed: number, start = 0, end = bytes.length): number {
  let h = seed >>> 0;
  const n = end - start;
  const whole = start + (n & ~3);
  for (let i = start; i < whole; i += 4) {
    let k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = n & 3;
  if (tail > 0) {
    let k = bytes[whole]!;
    if (tail > 1) k |= bytes[whole + 1]! << 8;
    if (tail > 2) k |= bytes[whole + 2]! << 16;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, 0x1b873593);
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Probe i of a key sets bit `(h1 + i·h2) mod m` (double hashing, Kirsch–Mitzenmacher): h1 is MurmurHash3 of
 * the key under the seed, h2 under the seed XOR this constant, forced odd so the probes differ.
 */
const SECOND_SEED = 0x9e3779b9;

/** A Bloom filter's bits and parameters; `bits.length * 8` is its bit count. */
export class BloomFilter {
  readonly bits: Uint8Array;
  readonly probes: number;
  readonly seed: number;

  constructor(bits: Uint8Array, probes: number, seed: number) {
    this.bits = bits;
    this.probes = probes;
    this.seed = seed >>> 0;
  }

  /** An empty filter sized for `keys` keys. */
  static sizedFor(keys: number, seed: number): BloomFilter {
    return new BloomFilter(new Uint8Array(bloomBitsFor(keys) / 8), BLOOM_PROBES, seed);
  }

  add(key: Uint8Array): void {
    this.addRange(key, 0, key.length);
  }

  /** Adds the key `bytes[start, end)` (no subarray: the writer adds hundreds of thousands of ids). */
  addRange(bytes: Uint8Array, start: number, end: number): void {
    const m = this.bits.length * 8;
    const h1 = murmur3(bytes, this.seed, start, end);
    const h2 = murmur3(bytes, this.seed ^ SECOND_SEED, start, end) | 1;
    for (let i = 0; i < this.probes; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      this.bits[bit >>> 3]! |= 1 << (bit & 7);
    }
  }

  /** False means `key` was never added; true means it may have been. */
  mayContain(key: Uint8Array): boolean {
    const m = this.bits.length * 8;
    const h1 = murmur3(key, this.seed);
    const h2 = murmur3(key, this.seed ^ SECOND_SEED) | 1;
    for (let i = 0; i < this.probes; i++) {
      const bit = ((h1 + Math.imul(i, h2)) >>> 0) % m;
      if ((this.bits[bit >>> 3]! & (1 << (bit & 7))) === 0) return false;
    }
    return true;
  }
}

/** Writes `f` as a section at `out[at..]` (header, bits, CRC-32 of both); returns the bytes written. */
export function encodeBloom(f: BloomFilter, out: Uint8Array, at: number, crc32: (b: Uint8Array) => number): number {
  const dv = new DataView(out.buffer, out.byteOffset, out.length);
  dv.setUint32(at, f.bits.length * 8, true);
  out[at + 4] = f.probes;
  dv.setUint32(at + 8, f.seed, true);
  out.set(f.bits, at + BLOOM_HEADER_BYTES);
  const end = at + BLOOM_HEADER_BYTES + f.bits.length;
  dv.setUint32(end, crc32(out.subarray(at, end)), true);
  return end + 4 - at;
}

/**
 * Decodes a section of `keys` keys; undefined when its CRC, size, probe count or reserved bytes are not
 * what the writer of that many keys writes (a damaged filter must never say "absent" for a present key).
 */
export function decodeBloom(bytes: Uint8Array, keys: number, crc32: (b: Uint8Array) => number): BloomFilter | undefined {
  if (bytes.length !== bloomSectionBytes(keys)) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (dv.getUint32(bytes.length - 4, true) !== crc32(bytes.subarray(0, bytes.length - 4))) return undefined;
  if (dv.getUint32(0, true) !== bloomBitsFor(keys) || bytes[4] !== BLOOM_PROBES || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) return undefined;
  return new BloomFilter(bytes.slice(BLOOM_HEADER_BYTES, bytes.length - 4), BLOOM_PROBES, dv.getUint32(8, true));
}
