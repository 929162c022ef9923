// A small shared-or-exclusive lock: verifyChain runs shared, compaction exclusive, so verification always
// sees one consistent segment set. The check and the take happen in one synchronous step (GAUNTLET-BUG-2:
// awaiting between them let two compactions in one tick both pass and destroy each other's output).

export class SharedExclusiveLock {
  #shared = 0;
  #exclusive = false;
  #waiters: (() => void)[] = [];

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  #wait(): Promise<void> {
    return new Promise<void>((r) => this.#waiters.push(r));
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive) await this.#wait();
    // No await between the check above and this line.
    this.#shared++;
    try {
      return await fn();
    } finally {
      this.#shared--;
      this.#wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive || this.#shared > 0) await this.#wait();
    // No await between the check above and this line.
    this.#exclusive = true;
    try {
      return await fn();
    } finally {
      this.#exclusive = false;
      this.#wake();
    }
  }
}
