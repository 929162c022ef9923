// Group commit: appends submitted while a group is being written and fsynced queue up and go to disk
// together as the next group — one write and one fsync per group, whatever the number of writers.

export interface PreparedGroup {
  /** Frames to write, in order. Empty when every intent of the group was refused. */
  readonly frames: readonly Uint8Array[];
  /** Called once the frames are on disk (and durable under sync); settles each intent. */
  commit(position: { segmentId: number; offset: number }): void;
  /** Called when writing failed; rejects each accepted intent with the error. */
  abort(error: unknown): void;
}

export interface GroupCommitHooks<I> {
  /** Turns queued intents into frames (sequencing happens here, against committed state only). */
  prepare(intents: readonly I[]): PreparedGroup;
  /** Runs before a group's write, e.g. the keyset durability fence. A throw aborts the group. */
  beforeWrite?(): Promise<void>;
  write(frames: readonly Uint8Array[]): Promise<{ segmentId: number; offset: number }>;
  /** Settles an intent with an error when preparing its group threw (a bug guard: never hang a caller). */
  reject(intent: I, error: unknown): void;
}

export class GroupCommitter<I> {
  readonly #hooks: GroupCommitHooks<I>;
  readonly #maxGroupBytes: number;
  #queue: { intent: I; bytes: number }[] = [];
  #running: Promise<void> | undefined;

  constructor(hooks: GroupCommitHooks<I>, maxGroupBytes: number) {
    this.#hooks = hooks;
    this.#maxGroupBytes = maxGroupBytes;
  }

  /** Queues an intent; the caller learns the outcome through the intent's own callbacks. */
  submit(intent: I, bytes: number): void {
    this.#queue.push({ intent, bytes });
    if (this.#running === undefined) this.#running = this.#drain();
  }

  /** Resolves when everything submitted so far has been written (or failed). */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      // Let the current tick's appends join the first group.
      await Promise.resolve();
      while (this.#queue.length > 0) {
        let take = 0;
        let bytes = 0;
        while (take < this.#queue.length && (take === 0 || bytes + this.#queue[take]!.bytes <= this.#maxGroupBytes)) {
          bytes += this.#queue[take]!.bytes;
          take++;
        }
        const group = this.#queue.splice(0, take).map((q) => q.intent);
        let prepared: PreparedGroup;
        try {
          prepared = this.#hooks.prepare(group);
        } catch (err) {
          for (const intent of group) this.#hooks.reject(intent, err);
          continue;
        }
        if (prepared.frames.length === 0) {
          prepared.commit({ segmentId: 0, offset: 0 });
          continue;
        }
        try {
          if (this.#hooks.beforeWrite !== undefined) await this.#hooks.beforeWrite();
          const pos = await this.#hooks.write(prepared.frames);
          prepared.commit(pos);
        } catch (err) {
          prepared.abort(err);
        }
      }
    } finally {
      // Reset in the same turn as the empty-queue check. A `.finally()` chained outside ran a few
      // microtasks later, and an intent submitted in between saw a drain "running" and waited forever.
      this.#running = undefined;
    }
  }
}
