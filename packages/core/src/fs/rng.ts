// Seeded PRNG for the simulators: every random choice SimFs makes (fault draws, torn lengths, flipped
// bits) comes from here, so the same seed and the same call sequence give the same run.

/** splitmix32 step: a fixed mixing function, so a seed of any size spreads over all 32 bits. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A small sfc32 generator. Independent streams are derived from one seed with a salt, so e.g. the
 * tear lengths of a crash do not depend on how many fault draws happened before it.
 */
export class SeededRng {
  #a: number;
  #b: number;
  #c: number;
  #d = 1;

  constructor(seed: number, salt = 0) {
    if (!Number.isFinite(seed)) throw new RangeError(`seed must be a finite number, got ${seed}`);
    // Fold the high part of a seed beyond 2^32 in too: seeds 1 and 2^32+1 must not collide.
    const lo = Math.trunc(seed) >>> 0;
    const hi = Math.trunc(seed / 0x1_0000_0000) >>> 0;
    this.#a = mix32(lo ^ mix32(salt));
    this.#b = mix32(hi ^ this.#a);
    this.#c = mix32(this.#b ^ 0x5bd1e995);
    for (let i = 0; i < 12; i++) this.nextUint32(); // warm up: sfc32's first outputs are weak
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 0x1_0000_0000;
  }

  /** Uniform integer in [0, n); n must be a positive integer up to 2^32. */
  below(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new RangeError(`below(n) needs a positive integer, got ${n}`);
    return Math.floor(this.nextFloat() * n);
  }

  chance(probability: number): boolean {
    return probability > 0 && this.nextFloat() < probability;
  }
}
