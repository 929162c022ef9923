// The batching queue under the append path (INV-GROUP-COMMIT, INV-PIPELINE-FAIL): every submitted item is
// processed and settled, including one submitted in the instant after a drain found its queue empty — that one
// once waited forever; the next group is prepared while one is written, and fails with it.
import { describe, expect, it } from 'vitest';
import { BatchingQueue, PrecedingGroupFailed, type GroupHandler } from '../src/store/batching-queue.js';

interface Item {
  readonly name: string;
  readonly done: (at: number) => void;
}

type Group = readonly Item[];

/** A handler that takes every item offered, writes nothing and settles each item with its group's number. */
function handler(onBatch: (names: string[]) => void, written: string[][]): GroupHandler<Item, Group> {
  return {
    prepare: (items) => ({ group: items, taken: items.length }),
    async write() {},
    land(items) {
      const names = items.map((i) => i.name);
      const at = written.length;
      written.push(names);
      for (const i of items) i.done(at);
      onBatch(names);
    },
    fail: () => undefined,
    reject: () => undefined,
  };
}

function queue(onBatch: (names: string[]) => void, maxBytes = 1 << 20) {
  const written: string[][] = [];
  const q: BatchingQueue<Item, Group> = new BatchingQueue<Item, Group>(handler(onBatch, written), maxBytes);
  return { q, written };
}

const submitted = (q: BatchingQueue<Item, Group>, name: string, bytes = 1) => new Promise<number>((done) => q.submit({ name, done }, bytes));

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
    const q = new BatchingQueue<Item, Group>(
      {
        ...handler(() => undefined, []),
        prepare(items) {
          if (items.some((i) => i.name === 'bad')) throw new Error('boom');
          return { group: items, taken: items.length };
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

  describe('pipelining', () => {
    /** A handler whose writes wait until the test finishes them; it logs every step. */
    function held(takeNoneOf?: string) {
      const log: string[] = [];
      const writes: { names: string; finish: (error?: Error) => void }[] = [];
      const h: GroupHandler<Item, string[]> = {
        prepare(items, inFlight) {
          const names = items.map((i) => i.name);
          const cut = takeNoneOf === undefined ? names.length : names.indexOf(takeNoneOf);
          const taken = cut === 0 && inFlight === undefined ? names.length : cut < 0 ? names.length : cut;
          log.push(`prepare ${names.slice(0, taken).join('+')} behind ${inFlight?.join('+') ?? 'nothing'}`);
          return { group: names.slice(0, taken), taken };
        },
        write(group) {
          log.push(`write ${group.join('+')}`);
          return new Promise<void>((resolve, reject) => writes.push({ names: group.join('+'), finish: (e) => (e === undefined ? resolve() : reject(e)) }));
        },
        land: (group) => log.push(`land ${group.join('+')}`),
        fail: (group, error) => log.push(`fail ${group.join('+')}: ${error instanceof PrecedingGroupFailed ? 'preceding' : String(error)}`),
        reject: () => undefined,
      };
      const q = new BatchingQueue<Item, string[]>(h, 1 << 20);
      const add = (name: string) => q.submit({ name, done: () => undefined }, 1);
      return { q, log, writes, add };
    }
    const tick = () => new Promise<void>((r) => setImmediate(r));

    it('prepares the next group while one is written, and writes groups one at a time, in order', async () => {
      const { q, log, writes, add } = held();
      add('a');
      await tick();
      add('b');
      add('c');
      await tick();
      expect(log).toEqual(['prepare a behind nothing', 'write a', 'prepare b+c behind a']);
      add('d');
      await tick();
      writes[0]!.finish();
      await tick();
      expect(log.slice(3)).toEqual(['write b+c', 'land a', 'prepare d behind b+c']);
      writes[1]!.finish();
      await tick();
      writes[2]!.finish();
      await q.idle();
      expect(log.slice(6)).toEqual(['write d', 'land b+c', 'land d']);
    });

    it('INV-PIPELINE-FAIL: a failed write fails the group prepared behind it, which is never written', async () => {
      const { q, log, writes, add } = held();
      add('a');
      await tick();
      add('b');
      await tick();
      writes[0]!.finish(new Error('EIO'));
      await tick();
      add('c');
      await tick();
      writes[1]!.finish();
      await q.idle();
      expect(log).toEqual(['prepare a behind nothing', 'write a', 'prepare b behind a', 'fail b: preceding', 'fail a: Error: EIO', 'prepare c behind nothing', 'write c', 'land c']);
    });

    it('an item the prepared group cannot take yet waits until the group in flight lands', async () => {
      const { q, log, writes, add } = held('waits');
      add('a');
      await tick();
      add('waits');
      add('b');
      await tick();
      expect(log).toEqual(['prepare a behind nothing', 'write a', 'prepare  behind a']);
      writes[0]!.finish();
      await tick();
      writes[1]!.finish();
      await q.idle();
      expect(log.slice(3)).toEqual(['land a', 'prepare waits+b behind nothing', 'write waits+b', 'land waits+b']);
    });
  });
});
