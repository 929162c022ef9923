// A signed commit group's hashing, four inputs a call: every cover leaf and header leaf of the group, then its
// Merkle tree a level at a time, by the four-lane SIMD BLAKE3 of crypto/blake3x4-wasm.ts. Invariant: the same
// bytes as the one-at-a-time builders (coverLeafOf, headerLeafInto, merkleTree, headerDigest); tests hold it.
//
// Why: signing cost ~7 short BLAKE3 compressions an event in JavaScript (blake3-short.ts: a 150-byte cover leaf,
// a 65-byte header leaf, ~one 65-byte node), the most of a signed group's extra main-thread work. Inputs are laid
// out in the module's memory where they are hashed: a node's input (0x01 ‖ left ‖ right) is where its children's
// digests are written, so a level is hashed without a copy; a header leaf is written into the digest's body.
// Measured (callgrind, sealGroup of 64 events): 1.57M -> 0.93M instructions a group; a 4-lane block costs about
// what one JS compression did (~2k instructions).

import { blake3 } from '../crypto/blake3.js';
import { blake3x4WasmModule } from '../crypto/blake3x4.js';
import { coverLeafInputIn, coverLeafOf, type CoverParts, type LeafArena } from './cover.js';
import { DIGEST_DOMAIN, headerLeafInputIn, type HeaderFields } from './headers.js';
import { treeOfLevels, type MerkleTree } from './merkle.js';

interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

interface Wasm {
  readonly Memory: new (d: { initial: number }) => Memory;
  readonly Instance: new (m: object, i: object) => { readonly exports: unknown };
}

/** The longest input hash4 takes: one BLAKE3 chunk, so its last block is the root. */
const LANE_MAX = 1024;
/** A node's input: 0x01 ‖ left ‖ right. */
const NODE = 65;
/** hash4 may overwrite [0, SCRATCH) (a last partial block is zero-padded there). */
const SCRATCH = 256;
/** A job: four input offsets, the length, four digest offsets. */
const JOB = 9;

/** What a group's hashing gives: its covers' tree and its header digest (seal-group.ts signs them). */
export interface GroupDigests {
  readonly tree: MerkleTree;
  readonly headerDigest: Uint8Array;
  /** What the group's signature signs a message of: merkleNode(tree.root, headerDigest) (headers.ts signedRoot). */
  readonly signedRoot: Uint8Array;
}

/**
 * One group at a time: `begin(n)`, each event's `cover(i, …)` and `header(i, …)` (any order), then `finish()`.
 * Its memory is reused by the next group: everything handed out by finish is copied out of it.
 */
export class GroupHasher implements LeafArena {
  bytes: Uint8Array;
  view: DataView;
  readonly #memory: Memory;
  readonly #hash4: (jobs: number, n: number, scratch: number) => void;
  #i32: Int32Array;
  /** The memory's size (reading `buffer` is a call into the engine). */
  #capacity: number;
  #end = 0;
  // Jobs noted and not yet hashed (JOB i32 each) and the lanes each has filled.
  #jobs = new Int32Array(JOB * 64);
  #lanes = new Uint8Array(64);
  #count = 0;
  /** The job still taking inputs of each length, or -1: inputs of one length fill a job's four lanes. */
  readonly #open = new Int32Array(LANE_MAX + 1).fill(-1);
  readonly #touched: number[] = [];
  // The group's layout: its size, the digest body, each level's node count and where level l's parent inputs lie.
  #n = 0;
  #digestAt = 0;
  #sizes: number[] = [];
  #slotsAt: number[] = [];
  #topAt = 0;

  constructor() {
    const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
    this.#memory = new WA.Memory({ initial: 2 });
    const exports = new WA.Instance(blake3x4WasmModule(), { env: { __linear_memory: this.#memory } }).exports as { hash4: (jobs: number, n: number, scratch: number) => void };
    this.#hash4 = exports.hash4;
    this.bytes = new Uint8Array(this.#memory.buffer);
    this.view = new DataView(this.#memory.buffer);
    this.#i32 = new Int32Array(this.#memory.buffer);
    this.#capacity = this.#memory.buffer.byteLength;
  }

  /** Starts a group of `n` (at least one) events, whatever the last group left behind. */
  begin(n: number): void {
    this.#n = n;
    this.#count = 0;
    this.#reopen();
    const sizes = [n];
    while (sizes[sizes.length - 1]! > 1) sizes.push((sizes[sizes.length - 1]! + 1) >> 1);
    this.#sizes = sizes;
    let p = SCRATCH;
    this.#digestAt = p;
    p += DIGEST_DOMAIN.length + 4 + 32 * n;
    this.#slotsAt = [0];
    for (let l = 1; l < sizes.length; l++) {
      this.#slotsAt.push(p);
      p += NODE * sizes[l]!;
    }
    // The signed node's input, 0x01 ‖ root ‖ header digest, then the signed node.
    this.#topAt = p;
    this.#end = p + NODE + 32;
    this.#ensure(this.#end);
    const bytes = this.bytes;
    bytes.set(DIGEST_DOMAIN, this.#digestAt);
    this.view.setUint32(this.#digestAt + DIGEST_DOMAIN.length, n);
    for (let l = 1; l < sizes.length; l++) {
      const at = this.#slotsAt[l]!;
      for (let k = 0; k < sizes[l]!; k++) bytes[at + NODE * k] = 1;
      // An odd node pairs with EMPTY_NODE (zeros).
      if (sizes[l - 1]! % 2 === 1) bytes.fill(0, at + NODE * sizes[l]! - 32, at + NODE * sizes[l]!);
    }
    bytes[this.#topAt] = 1;
  }

  /** Where node k of level l is written: into its parent's input (the root: into the signed node's). */
  #nodeAt(l: number, k: number): number {
    return l === this.#sizes.length - 1 ? this.#topAt + 1 : this.#slotsAt[l + 1]! + NODE * (k >> 1) + 1 + 32 * (k & 1);
  }

  /** Event i's cover leaf. */
  cover(i: number, c: CoverParts): void {
    const out = this.#nodeAt(0, i);
    const length = coverLeafInputIn(c, this);
    if (length < 0) this.bytes.set(coverLeafOf(c), out);
    else this.#input(this.#end - length, length, out);
  }

  /** Event i's header leaf. */
  header(i: number, f: HeaderFields): void {
    const length = headerLeafInputIn(f, this);
    this.#input(this.#end - length, length, this.#digestAt + DIGEST_DOMAIN.length + 4 + 32 * i);
  }

  /** Hashes the leaves, then the tree a level at a time, the header digest and the signed node. */
  finish(): GroupDigests {
    this.#run();
    const sizes = this.#sizes;
    for (let l = 1; l < sizes.length; l++) {
      const at = this.#slotsAt[l]!;
      for (let k = 0; k < sizes[l]!; k++) this.#input(at + NODE * k, NODE, this.#nodeAt(l, k));
      this.#run();
    }
    // Longer than one BLAKE3 chunk from three events on (hash4 hashes one), so hashed whole; then the signed node
    // here too: alone in its job, still cheaper than blake3-short.ts's compressions, cold on this path.
    const headerDigest = blake3(this.bytes.subarray(this.#digestAt, this.#digestAt + DIGEST_DOMAIN.length + 4 + 32 * this.#n));
    const top = this.#topAt;
    this.bytes.set(headerDigest, top + 33);
    this.#input(top, NODE, top + NODE);
    this.#run();
    // Every node lies in [slotsAt[1] (or the top input alone), top + NODE + 32): copied out in one slice, each node a
    // view of the copy rather than a slice of its own (a receipt's proof holds depth of them; ~2 a group's event).
    const from = sizes.length > 1 ? this.#slotsAt[1]! : top;
    const copy = this.bytes.slice(from, top + NODE + 32).buffer;
    const levels = new Array<Uint8Array[]>(sizes.length);
    for (let l = 0; l < sizes.length; l++) {
      const level = new Array<Uint8Array>(sizes[l]!);
      for (let k = 0; k < level.length; k++) level[k] = new Uint8Array(copy, this.#nodeAt(l, k) - from, 32);
      levels[l] = level;
    }
    return { tree: treeOfLevels(levels), headerDigest, signedRoot: new Uint8Array(copy, top + NODE - from, 32) };
  }

  /** `length` bytes from `bytes[end]` on, growing the memory (its contents kept); returns where they start. */
  take(length: number): number {
    const at = this.#end;
    this.#ensure(at + length);
    this.#end = at + length;
    return at;
  }

  #ensure(size: number): void {
    if (this.#capacity >= size) return;
    this.#memory.grow(Math.ceil((size - this.#capacity) / 65536));
    this.#capacity = this.#memory.buffer.byteLength;
    this.bytes = new Uint8Array(this.#memory.buffer);
    this.view = new DataView(this.#memory.buffer);
    this.#i32 = new Int32Array(this.#memory.buffer);
    this.#capacity = this.#memory.buffer.byteLength;
  }

  /** Notes the input `bytes[at, at + length)`, whose digest goes to `bytes[out, out + 32)`; a long one is hashed at once. */
  #input(at: number, length: number, out: number): void {
    if (length > LANE_MAX) {
      this.bytes.set(blake3(this.bytes.subarray(at, at + length)), out);
      return;
    }
    let j = this.#open[length]!;
    if (j < 0) {
      j = this.#count++;
      if (j === this.#lanes.length) {
        const jobs = new Int32Array(2 * this.#jobs.length);
        jobs.set(this.#jobs);
        this.#jobs = jobs;
        const lanes = new Uint8Array(2 * j);
        lanes.set(this.#lanes);
        this.#lanes = lanes;
      }
      this.#jobs[JOB * j + 4] = length;
      this.#lanes[j] = 0;
      this.#open[length] = j;
      this.#touched.push(length);
    }
    const k = this.#lanes[j]!++;
    this.#jobs[JOB * j + k] = at;
    this.#jobs[JOB * j + 5 + k] = out;
    if (k === 3) this.#open[length] = -1;
  }

  /** Hashes every job noted. A job of fewer than four inputs repeats its last: that digest is written twice, alike. */
  #run(): void {
    const count = this.#count;
    if (count === 0) return;
    const jobs = this.#jobs;
    for (let j = 0; j < count; j++) {
      const lanes = this.#lanes[j]!;
      for (let k = lanes; k < 4; k++) {
        jobs[JOB * j + k] = jobs[JOB * j + lanes - 1]!;
        jobs[JOB * j + 5 + k] = jobs[JOB * j + 5 + lanes - 1]!;
      }
    }
    this.#reopen();
    // The jobs go past the inputs, i32-aligned, for the call only.
    const end = this.#end;
    const align = ((end + 3) & ~3) - end;
    const at = this.take(align + 4 * JOB * count) + align;
    this.#i32.set(jobs.subarray(0, JOB * count), at >> 2);
    this.#hash4(at, count, 0);
    this.#end = end;
    this.#count = 0;
  }

  #reopen(): void {
    for (const length of this.#touched) this.#open[length] = -1;
    this.#touched.length = 0;
  }
}

let shared: GroupHasher | undefined;

/** The hasher of the commit path (one group at a time: sealing is synchronous). */
export function groupHasher(): GroupHasher {
  shared ??= new GroupHasher();
  return shared;
}
