// A size-bounded LRU of index-file blocks shared by every index file of a store: lookups read blocks
// through it, so resident memory is the budget, whatever the number of events or files.

/** Default budget of the block cache: 8 MiB (2,048 blocks of 4 KiB). */
export const DEFAULT_BLOCK_CACHE_BYTES = 8 * 1024 * 1024;

export class BlockCache {
  readonly #budget: number;
  #bytes = 0;
  /** Insertion order is recency order: a hit moves its key to the end. */
  readonly #blocks = new Map<string, Uint8Array>();
  /** Loads in flight, so concurrent misses on one block read it once. */
  readonly #loading = new Map<string, Promise<Uint8Array>>();

  constructor(budgetBytes = DEFAULT_BLOCK_CACHE_BYTES) {
    this.#budget = Math.max(0, budgetBytes);
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#blocks.size;
  }

  /** The block under `key`, loading it with `load` (and keeping it if the budget allows) on a miss. */
  async get(key: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
    const hit = this.#blocks.get(key);
    if (hit !== undefined) {
      this.#blocks.delete(key);
      this.#blocks.set(key, hit);
      return hit;
    }
    const pending = this.#loading.get(key);
    if (pending !== undefined) return pending;
    const p = load().finally(() => this.#loading.delete(key));
    this.#loading.set(key, p);
    const block = await p;
    this.#put(key, block);
    return block;
  }

  /** Drops every block whose key starts with `prefix` (an index file replaced or found damaged). */
  dropPrefix(prefix: string): void {
    for (const [k, b] of this.#blocks) {
      if (!k.startsWith(prefix)) continue;
      this.#blocks.delete(k);
      this.#bytes -= b.length;
    }
  }

  #put(key: string, block: Uint8Array): void {
    if (block.length > this.#budget || this.#blocks.has(key)) return;
    this.#blocks.set(key, block);
    this.#bytes += block.length;
    for (const [k, b] of this.#blocks) {
      if (this.#bytes <= this.#budget) break;
      this.#blocks.delete(k);
      this.#bytes -= b.length;
    }
  }
}
