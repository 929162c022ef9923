// The batching queue under the append path (INV-GROUP-COMMIT): every submitted item is processed and
// settled, including one submitted in the instant after a drain found its queue empty — that one once waited forever.
import { describe, expect, it } from 'vitest';
import { BatchingQueue } from '../src/store/batching-queue.js';

interface Item {
  readonly name: string;
  readonly done: (at: number) => void;
}

function queue(onBatch: (names: string[]) => void, maxBytes = 1 << 20) {
  const written: string[][] = [];
  const q: BatchingQueue<Item> = new BatchingQueue<Item>(
    {
      async run(items) {
        const names = items.map((i) => i.name);
        const at = written.length;
        written.push(names);
        for (const i of items) i.done(at);
        onBatch(names);
      },
      reject: () => undefined,
    },
    maxBytes,
  );
  return { q, written };
}

const submitted = (q: BatchingQueue<Item>, name: string, bytes = 1) => new Promise<number>((done) => q.submit({ name, done }, bytes));

/** Settles with 'hung' if `p` has not settled after many macrotask turns. */
async function orHang<T>(p: Promise<T>): Promise<T | 'hung'> {
  let hung = false;
  const timer = new Promise<'hung'>((r) => setTimeout(() => ((hung = true), r('hung')), 200));
  const out = await Promise.race([p, timer]);
  return hung ? 'hung' : out;
}

describe('BatchingQueue', () => {
  it('an item submitted while the previous drain is finishing is still processed (no lost wake-up)', async () => {
    let late: Promise<number> | undefined;
    const { q, written } = queue((names) => {
      // Submitted from a microtask queued by the batch: it runs around the moment the drain checks
      // its queue, before anything chained on the drain's promise.
      if (names[0] === 'first') void Promise.resolve().then(() => (late = submitted(q, 'late')));
    });
    await submitted(q, 'first');
    await Promise.resolve();
    expect(late).toBeDefined();
    expect(await orHang(late!)).not.toBe('hung');
    expect(written).toEqual([['first'], ['late']]);
    await q.idle();
  });

  it('items submitted in one tick go out as one batch; later ones as the next', async () => {
    const { q, written } = queue(() => undefined);
    const a = submitted(q, 'a');
    const b = submitted(q, 'b');
    await Promise.all([a, b]);
    await submitted(q, 'c');
    expect(written).toEqual([['a', 'b'], ['c']]);
  });

  it('cuts batches at the byte budget, but always takes at least one item', async () => {
    const { q, written } = queue(() => undefined, 10);
    await Promise.all([submitted(q, 'a', 6), submitted(q, 'b', 4), submitted(q, 'c', 1), submitted(q, 'big', 50)]);
    expect(written).toEqual([['a', 'b'], ['c'], ['big']]);
  });

  it('a batch whose handler throws is rejected item by item, and the queue goes on', async () => {
    const rejected: string[] = [];
    const q = new BatchingQueue<Item>(
      {
        async run(items) {
          if (items.some((i) => i.name === 'bad')) throw new Error('boom');
          for (const i of items) i.done(0);
        },
        reject: (item) => rejected.push(item.name),
      },
      1 << 20,
    );
    q.submit({ name: 'bad', done: () => undefined }, 1);
    await q.idle();
    expect(rejected).toEqual(['bad']);
    await new Promise<number>((done) => q.submit({ name: 'good', done }, 1));
  });
});
