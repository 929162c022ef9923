// The plain event frames of one batch read in place while the batch is not yet complete, held as columns of numbers
// (where each frame's fields lie in its chunk, its digest) instead of an object per frame. Invariant: a run holds
// exactly the frames recovery's commit rules would hold pending for an open batch begun while they held nothing.
// Why: a 4096-event batch held 4096 objects of ~18 fields until its last frame came, each one surviving a scavenge.

/** Int32 columns per frame. */
const CHUNK = 0;
const LENGTH = 1;
const COUNT = 2;
const TO = 3;
const ID_AT = 4;
const ENTITY_AT = 5;
const ENTITY_LENGTH = 6;
const PREV_AT = 7;
const CONTENT_AT = 8;
const PAYLOAD_AT = 9;
const DIGEST_AT = 10;
const DIGEST_PAYLOAD_AT = 11;
const INTS = 12;
/** Float64 columns per frame (file offsets, sequences and flags may pass 2^31). */
const POS = 0;
const SEQUENCE = 1;
const FLAGS = 2;
const NUMS = 3;

export class PlacedRun {
  /** The batch ref's `first` every frame of the run carries. */
  first = 0;
  /** Frames held; frame `i` has batch index `i`. */
  length = 0;
  #ints = new Int32Array(INTS * 256);
  #nums = new Float64Array(NUMS * 256);
  /** The chunks the frames lie in and those chunks' digests (a frame's `chunk` indexes both). */
  #chunks: Uint8Array[] = [];
  #digests: Uint8Array[] = [];

  /** Starts a run for the batch whose ref's first is `first` (the run must be empty). */
  begin(first: number): void {
    this.first = first;
  }

  /** Adds the next frame of the batch: where it lies in `bytes` (its chunk), and its digest in `digests`. */
  add(
    bytes: Uint8Array,
    digests: Uint8Array,
    pos: number,
    length: number,
    globalSequence: number,
    count: number,
    to: number,
    idAt: number,
    entityAt: number,
    entityLength: number,
    prevAt: number,
    contentAt: number,
    payloadAt: number,
    flags: number,
    digestAt: number,
    digestPayloadAt: number,
  ): void {
    const n = this.length;
    if (INTS * (n + 1) > this.#ints.length) {
      const ints = new Int32Array(2 * this.#ints.length);
      ints.set(this.#ints);
      this.#ints = ints;
      const nums = new Float64Array(2 * this.#nums.length);
      nums.set(this.#nums);
      this.#nums = nums;
    }
    let chunk = this.#chunks.length - 1;
    if (chunk < 0 || this.#chunks[chunk] !== bytes || this.#digests[chunk] !== digests) {
      this.#chunks.push(bytes);
      this.#digests.push(digests);
      chunk++;
    }
    const i = INTS * n;
    const v = this.#ints;
    v[i + CHUNK] = chunk;
    v[i + LENGTH] = length;
    v[i + COUNT] = count;
    v[i + TO] = to;
    v[i + ID_AT] = idAt;
    v[i + ENTITY_AT] = entityAt;
    v[i + ENTITY_LENGTH] = entityLength;
    v[i + PREV_AT] = prevAt;
    v[i + CONTENT_AT] = contentAt;
    v[i + PAYLOAD_AT] = payloadAt;
    v[i + DIGEST_AT] = digestAt;
    v[i + DIGEST_PAYLOAD_AT] = digestPayloadAt;
    const j = NUMS * n;
    this.#nums[j + POS] = pos;
    this.#nums[j + SEQUENCE] = globalSequence;
    this.#nums[j + FLAGS] = flags;
    this.length = n + 1;
  }

  /** Lets every frame go (and the chunks they lie in). */
  clear(): void {
    this.length = 0;
    this.#chunks = [];
    this.#digests = [];
  }

  bytes(i: number): Uint8Array {
    return this.#chunks[this.#ints[INTS * i + CHUNK]!]!;
  }

  digests(i: number): Uint8Array {
    return this.#digests[this.#ints[INTS * i + CHUNK]!]!;
  }

  pos(i: number): number {
    return this.#nums[NUMS * i + POS]!;
  }

  globalSequence(i: number): number {
    return this.#nums[NUMS * i + SEQUENCE]!;
  }

  flags(i: number): number {
    return this.#nums[NUMS * i + FLAGS]!;
  }

  frameLength(i: number): number {
    return this.#ints[INTS * i + LENGTH]!;
  }

  count(i: number): number {
    return this.#ints[INTS * i + COUNT]!;
  }

  to(i: number): number {
    return this.#ints[INTS * i + TO]!;
  }

  idAt(i: number): number {
    return this.#ints[INTS * i + ID_AT]!;
  }

  entityAt(i: number): number {
    return this.#ints[INTS * i + ENTITY_AT]!;
  }

  entityLength(i: number): number {
    return this.#ints[INTS * i + ENTITY_LENGTH]!;
  }

  prevAt(i: number): number {
    return this.#ints[INTS * i + PREV_AT]!;
  }

  contentAt(i: number): number {
    return this.#ints[INTS * i + CONTENT_AT]!;
  }

  payloadAt(i: number): number {
    return this.#ints[INTS * i + PAYLOAD_AT]!;
  }

  digestAt(i: number): number {
    return this.#ints[INTS * i + DIGEST_AT]!;
  }

  digestPayloadAt(i: number): number {
    return this.#ints[INTS * i + DIGEST_PAYLOAD_AT]!;
  }
}
