// A pipelined batching queue: items submitted while a group is being written queue up and go out together
// as the next group, cut at a byte budget; the next group is prepared (CPU) while the previous one's write
// and fsync are in flight. The store's append path uses it (the group itself is store/append-pipeline.ts).
// Invariants: every submitted item is handed to exactly one group; at most one group is written at a time,
// in order; a group prepared behind one that fails is failed whole and never written (INV-PIPELINE-FAIL).

export interface GroupHandler<I, G> {
  /**
   * Prepares the next group from the first of `items` (synchronous: sequencing, sealing, encoding),
   * sequenced as if `inFlight`, the group still being written, had landed. Returns the group and how many
   * leading items it took; taking none means those items must wait for `inFlight` to land (or for `kick`).
   */
  prepare(items: readonly I[], inFlight: G | undefined): { readonly group: G; readonly taken: number };
  /** Writes a prepared group (key fence, write, fsync); called only once every earlier group has landed. */
  write(group: G): Promise<void>;
  /** A written group: published and acknowledged. */
  land(group: G): void;
  /** Rejects every item of a group that will never be written, and says why. */
  fail(group: G, error: unknown): void;
  /** Settles an item with an error when `prepare` threw (a bug guard: never hang a caller). */
  reject(item: I, error: unknown): void;
}

/** Why a group prepared behind a failed one is failed too: its sequence numbers and links assumed that group. */
export class PrecedingGroupFailed extends Error {
  constructor(cause: unknown) {
    super(`the commit group before this one failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}


export class BatchingQueue<I, G> {
  readonly #handler: GroupHandler<I, G>;
  readonly #maxBatchBytes: number;
  #queue: { item: I; bytes: number }[] = [];
  /** The group being written, and the one prepared behind it (waiting for it to land). */
  #inFlight: G | undefined;
  #ready: G | undefined;
  #pumpScheduled = false;
  #startingBehind = false;
  #idleWaiters: (() => void)[] = [];

  constructor(handler: GroupHandler<I, G>, maxBatchBytes: number) {
    this.#handler = handler;
    this.#maxBatchBytes = maxBatchBytes;
  }

  /** Queues an item of about `bytes` bytes; the caller learns the outcome through the item's own callbacks. */
  submit(item: I, bytes: number): void {
    this.#queue.push({ item, bytes });
    this.kick();
  }

  /** Looks at the queue again (a microtask later): items `prepare` held back by taking none may be ready now. */
  kick(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // A microtask later, so that the submissions of the current tick join the same group.
    queueMicrotask(() => {
      this.#pumpScheduled = false;
      this.#pump();
    });
  }

  /** True while the next group's write is being started ahead of landing the group before it (whose callers wait on that). */
  get startingBehind(): boolean {
    return this.#startingBehind;
  }

  /** Items waiting for a group (not counting the groups being prepared or written). */
  get depth(): number {
    return this.#queue.length;
  }

  /** Resolves when everything submitted so far has been processed (or failed). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #isIdle(): boolean {
    return this.#queue.length === 0 && this.#inFlight === undefined && this.#ready === undefined && !this.#pumpScheduled;
  }

  /** Prepares the next group when there is room for one (one written, one ready behind it), and starts it when nothing is being written. */
  #pump(): void {
    while (this.#ready === undefined && this.#queue.length > 0) {
      let take = 0;
      let bytes = 0;
      // At least one item per group, however large it is.
      while (take < this.#queue.length && (take === 0 || bytes + this.#queue[take]!.bytes <= this.#maxBatchBytes)) {
        bytes += this.#queue[take]!.bytes;
        take++;
      }
      const items = this.#queue.slice(0, take).map((q) => q.item);
      let prepared: { readonly group: G; readonly taken: number };
      try {
        prepared = this.#handler.prepare(items, this.#inFlight);
      } catch (err) {
        this.#queue.splice(0, take);
        for (const item of items) this.#handler.reject(item, err);
        continue;
      }
      if (prepared.taken === 0) break; // the first item waits for the group in flight to land
      this.#queue.splice(0, prepared.taken);
      this.#ready = prepared.group;
      if (this.#inFlight === undefined) this.#start();
    }
    this.#wakeIfIdle();
  }

  #start(): void {
    const group = this.#ready!;
    this.#ready = undefined;
    this.#inFlight = group;
    this.#handler.write(group).then(
      () => this.#landed(group, undefined),
      (err: unknown) => this.#landed(group, err ?? new Error('commit group failed')),
    );
  }

  #landed(group: G, error: unknown): void {
    this.#inFlight = undefined;
    const next = this.#ready;
    if (error === undefined) {
      // The next group's write goes out first, so that its I/O overlaps this group's publishing.
      if (next !== undefined) {
        this.#startingBehind = true;
        try {
          this.#start();
        } finally {
          this.#startingBehind = false;
        }
      }
      this.#guarded(group, () => this.#handler.land(group));
    } else {
      // The group behind was sequenced as if this one landed: it is failed before any of it is written.
      if (next !== undefined) {
        this.#ready = undefined;
        this.#guarded(next, () => this.#handler.fail(next, new PrecedingGroupFailed(error)));
      }
      this.#guarded(group, () => this.#handler.fail(group, error));
    }
    this.#pump();
  }

  /** A handler bug never hangs a caller: the group is failed with what was thrown. */
  #guarded(group: G, run: () => void): void {
    try {
      run();
    } catch (err) {
      try {
        this.#handler.fail(group, err);
      } catch {
        // Nothing more can be done for this group; the queue itself goes on.
      }
    }
  }

  #wakeIfIdle(): void {
    if (!this.#isIdle() || this.#idleWaiters.length === 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
