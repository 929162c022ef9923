// DispatchQueue: one checkout at a time per Core, in arrival order (the TS stand-in for Rust's `&mut Core`).
// Invariant: a task starts only after the previous one settled; a task whose signal fired before its turn never starts.

export class DispatchQueue {
  #tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      // Waiting callers leave as soon as their signal fires; their turn is then skipped.
      const onAbort = () => reject(aborted());
      if (signal?.aborted === true) {
        reject(aborted());
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#tail = this.#tail.then(async () => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted === true) return;
        try {
          resolve(await task());
        } catch (err) {
          reject(err);
        }
      });
    });
  }
}
