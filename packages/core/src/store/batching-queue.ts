// A batching queue: items submitted while a batch is being processed queue up and go out together as the
// next batch, cut at a byte budget. The store's append path uses it so that a commit group costs one
// write and one fsync whatever the number of writers (the group itself is store/append-pipeline.ts).
// Invariant: every submitted item is handed to exactly one batch, including one submitted in the instant
// after a drain found the queue empty.

export interface BatchHandler<I> {
  /** Processes one batch; settles each item itself (through the item's own callbacks). */
  run(batch: readonly I[]): Promise<void>;
  /** Settles an item with an error when `run` threw (a bug guard: never hang a caller). */
  reject(item: I, error: unknown): void;
}

export class BatchingQueue<I> {
  readonly #handler: BatchHandler<I>;
  readonly #maxBatchBytes: number;
  #queue: { item: I; bytes: number }[] = [];
  #running: Promise<void> | undefined;

  constructor(handler: BatchHandler<I>, maxBatchBytes: number) {
    this.#handler = handler;
    this.#maxBatchBytes = maxBatchBytes;
  }

  /** Queues an item of about `bytes` bytes; the caller learns the outcome through the item's own callbacks. */
  submit(item: I, bytes: number): void {
    this.#queue.push({ item, bytes });
    if (this.#running === undefined) this.#running = this.#drain();
  }

  /** Items waiting for a batch (not counting the batch being processed). */
  get depth(): number {
    return this.#queue.length;
  }

  /** Resolves when everything submitted so far has been processed (or failed). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      // Let the current tick's submissions join the first batch.
      await Promise.resolve();
      while (this.#queue.length > 0) {
        let take = 0;
        let bytes = 0;
        // At least one item per batch, however large it is.
        while (take < this.#queue.length && (take === 0 || bytes + this.#queue[take]!.bytes <= this.#maxBatchBytes)) {
          bytes += this.#queue[take]!.bytes;
          take++;
        }
        const batch = this.#queue.splice(0, take).map((q) => q.item);
        try {
          await this.#handler.run(batch);
        } catch (err) {
          for (const item of batch) this.#handler.reject(item, err);
        }
      }
    } finally {
      // Reset in the same turn as the empty-queue check. A `.finally()` chained outside ran a few
      // microtasks later, and an item submitted in between saw a drain "running" and waited forever.
      this.#running = undefined;
    }
  }
}
