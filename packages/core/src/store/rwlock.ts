// A small shared/exclusive lock: verifyChain runs shared, compaction exclusive, so verification always
// sees one consistent segment set (a concurrent compaction can never make it fail with not-found).

export class SharedExclusiveLock {
  #shared = 0;
  #exclusive = false;
  #waiters: (() => void)[] = [];

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready()) await new Promise<void>((r) => this.#waiters.push(r));
  }

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    await this.#until(() => !this.#exclusive);
    this.#shared++;
    try {
      return await fn();
    } finally {
      this.#shared--;
      this.#wake();
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    await this.#until(() => !this.#exclusive && this.#shared === 0);
    this.#exclusive = true;
    try {
      return await fn();
    } finally {
      this.#exclusive = false;
      this.#wake();
    }
  }
}
