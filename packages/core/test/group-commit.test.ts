// The group committer (INV-GROUP-COMMIT): every submitted intent is written and settled, including one
// submitted in the instant after a drain found its queue empty — that one once waited forever.
import { describe, expect, it } from 'vitest';
import { GroupCommitter, type PreparedGroup } from '../src/segment/group-commit.js';

interface Intent {
  readonly name: string;
  readonly done: (at: number) => void;
}

function committer(onCommit: (names: string[]) => void) {
  const written: string[][] = [];
  const c: GroupCommitter<Intent> = new GroupCommitter<Intent>(
    {
      prepare(intents): PreparedGroup {
        const names = intents.map((i) => i.name);
        return {
          frames: [new Uint8Array(1)],
          commit: ({ offset }) => {
            written.push(names);
            for (const i of intents) i.done(offset);
            onCommit(names);
          },
          abort: () => undefined,
        };
      },
      write: async () => ({ segmentId: 1, offset: written.length }),
      reject: () => undefined,
    },
    1 << 20,
  );
  return { c, written };
}

const submitted = (c: GroupCommitter<Intent>, name: string) =>
  new Promise<number>((done) => c.submit({ name, done }, 1));

/** Settles with 'hung' if `p` has not settled after many macrotask turns. */
async function orHang<T>(p: Promise<T>): Promise<T | 'hung'> {
  let hung = false;
  const timer = new Promise<'hung'>((r) => setTimeout(() => ((hung = true), r('hung')), 200));
  const out = await Promise.race([p, timer]);
  return hung ? 'hung' : out;
}

describe('GroupCommitter', () => {
  it('an intent submitted while the previous drain is finishing is still written (no lost wake-up)', async () => {
    let late: Promise<number> | undefined;
    const { c, written } = committer((names) => {
      // Submitted from a microtask queued by the commit: it runs after the drain saw an empty queue,
      // but before anything chained on the drain's promise.
      if (names[0] === 'first') void Promise.resolve().then(() => (late = submitted(c, 'late')));
    });
    await submitted(c, 'first');
    await Promise.resolve();
    expect(late).toBeDefined();
    expect(await orHang(late!)).not.toBe('hung');
    expect(written).toEqual([['first'], ['late']]);
    await c.idle();
  });

  it('intents submitted in one tick go out as one group; later ones as the next', async () => {
    const { c, written } = committer(() => undefined);
    const a = submitted(c, 'a');
    const b = submitted(c, 'b');
    await Promise.all([a, b]);
    await submitted(c, 'c');
    expect(written).toEqual([['a', 'b'], ['c']]);
  });
});
