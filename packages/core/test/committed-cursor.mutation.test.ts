// CommittedCursor: the committed events a verification walks, from an array or from index pages. Pins the page
// handling the walk relies on: empty pages skipped, a page cut at the snapshot's last sequence, the source stopped.
import { describe, expect, it } from 'vitest';
import { CommittedCursor, type CommittedEvents } from '../src/chain/committed-cursor.js';
import type { IndexEntry } from '../src/event-index/entry.js';

const e = (g: number) => ({ globalSequence: g }) as unknown as IndexEntry;
const seqs = (xs: readonly (IndexEntry | undefined)[]) => xs.map((x) => x?.globalSequence);

/** A paged source that records whether its generator was stopped (its finally ran). */
function paged(pages: number[][], through: number, count = 99): { source: CommittedEvents; stopped: () => boolean; served: () => number } {
  let stopped = false;
  let served = 0;
  return {
    source: {
      count,
      through,
      async *pages() {
        try {
          for (const p of pages) {
            served++;
            yield p.map(e);
          }
        } finally {
          stopped = true;
        }
      },
    },
    stopped: () => stopped,
    served: () => served,
  };
}

async function drain(c: CommittedCursor): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    if (c.needsFill) await c.fill();
    const x = c.peek();
    if (x === undefined) return out;
    out.push(x.globalSequence);
    c.advance();
  }
}

describe('CommittedCursor', () => {
  it('walks an array without filling', () => {
    const c = new CommittedCursor([e(1), e(2), e(3)]);
    expect(c.total).toBe(3);
    expect(c.needsFill).toBe(false);
    const got: (IndexEntry | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      got.push(c.peek());
      c.advance();
      expect(c.needsFill).toBe(false);
    }
    expect(seqs(got)).toEqual([1, 2, 3, undefined]);
  });

  it('reads pages in order, skipping empty ones, and reports the count as its total', async () => {
    const p = paged([[1, 2], [], [3], [], [], [4, 5]], 100, 5);
    const c = new CommittedCursor(p.source);
    expect(c.total).toBe(5);
    expect(c.needsFill).toBe(true);
    expect(c.peek()).toBeUndefined();
    await c.fill();
    expect(c.needsFill).toBe(false);
    expect(c.peek()?.globalSequence).toBe(1);
    c.advance();
    expect(c.needsFill).toBe(false);
    expect(c.peek()?.globalSequence).toBe(2);
    c.advance();
    expect(c.needsFill).toBe(true);
    await c.fill();
    expect(c.peek()?.globalSequence).toBe(3);
    expect(await drain(c)).toEqual([3, 4, 5]);
    expect(c.needsFill).toBe(false);
    expect(p.stopped()).toBe(true);
  });

  it('ends at the snapshot: a page past `through` is cut there and the source is stopped', async () => {
    const p = paged([[1, 2], [3, 4, 5, 6], [7, 8]], 4);
    const c = new CommittedCursor(p.source);
    expect(await drain(c)).toEqual([1, 2, 3, 4]);
    expect(p.served()).toBe(2);
    expect(p.stopped()).toBe(true);
    expect(c.needsFill).toBe(false);
    expect(c.peek()).toBeUndefined();
  });

  it('a page whose last event is exactly `through` is kept whole and the next page is still read', async () => {
    const p = paged([[1, 2], [3], [4]], 2);
    const c = new CommittedCursor(p.source);
    expect(await drain(c)).toEqual([1, 2]);
    expect(p.served()).toBe(2);
    expect(p.stopped()).toBe(true);
  });

  it('a first page wholly past `through` yields nothing', async () => {
    const p = paged([[5, 6]], 4);
    const c = new CommittedCursor(p.source);
    expect(await drain(c)).toEqual([]);
    expect(p.stopped()).toBe(true);
  });

  it('an empty source ends at once', async () => {
    const p = paged([], 10);
    const c = new CommittedCursor(p.source);
    await c.fill();
    expect(c.needsFill).toBe(false);
    expect(c.peek()).toBeUndefined();
    expect(p.stopped()).toBe(true);
  });

  it('close() stops the source early and leaves nothing to peek', async () => {
    const p = paged([[1, 2], [3, 4]], 100);
    const c = new CommittedCursor(p.source);
    await c.fill();
    expect(c.peek()?.globalSequence).toBe(1);
    c.close();
    expect(c.peek()).toBeUndefined();
    expect(c.needsFill).toBe(false);
    await new Promise((r) => setTimeout(r, 0));
    expect(p.stopped()).toBe(true);
    expect(p.served()).toBe(1);
    // A fill after close does nothing.
    await c.fill();
    expect(c.peek()).toBeUndefined();
  });
});
