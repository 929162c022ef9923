// Which commit groups the pipeline offers to the Fs as alone (AppendHint.alone, written on the calling thread by
// RealFs up to syncLoneWriteMaxBytes): those of writers awaiting their receipts, with nothing queued or landing
// around them; never appends that arrive on their own, however small, which must keep the thread pool so that those
// arriving during one group's flush join the next group.
import { describe, expect, it } from 'vitest';
import { ResidentIndex } from '../src/event-index/resident-index.js';
import type { AppendHint } from '../src/fs/fs.js';
import type { SegmentSet } from '../src/segment/set.js';
import type { SegmentWriter } from '../src/segment/writer.js';
import { rawDraft } from '../src/store/append.js';
import { AppendPipeline } from '../src/store/append-pipeline.js';
import { Admission } from '../src/store/admission.js';

const limits = { payloadMaxBytes: 1 << 20, registry: undefined, now: 1_000 };
const draft = (entity: string, bytes = 1) =>
  rawDraft({ coord: { entity, scope: 's' }, kind: { category: 1, typeId: 1 }, bytes: new Uint8Array(bytes), limits });
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A pipeline over a writer that records, per group, the hint it would give the Fs: 'alone', 'not alone', or 'none'
 * (no hint: the Fs would judge by size alone, and write a small group of arrivals on the calling thread).
 */
function pipeline(opts: { writeTakes?: (hint: string) => Promise<void>; chainBudgetMs?: number } = {}) {
  const hints: string[] = [];
  let offset = 32;
  const writer = {
    async writeGroup(chunks: readonly Uint8Array[], _now: number, _timing: unknown, ask?: () => AppendHint | undefined) {
      const given = ask?.();
      const hint = given === undefined ? 'none' : given.alone === true ? 'alone' : 'not alone';
      hints.push(hint);
      if (opts.writeTakes !== undefined) await opts.writeTakes(hint);
      const at = offset;
      for (const c of chunks) offset += c.byteLength;
      return { segmentId: 1, offset: at };
    },
  } as unknown as SegmentWriter;
  const p = new AppendPipeline(
    {
      dir: '/alone-test',
      index: new ResidentIndex(),
      keyset: undefined,
      keyStore: undefined,
      signer: undefined,
      signingDowngradeAllowed: false,
      writer,
      segments: { setSize: () => undefined } as unknown as SegmentSet,
      now: () => 5_000,
      onWarning: () => undefined,
      replay: () => Promise.reject(new Error('no replay in this test')),
      landed: () => undefined,
      admission: new Admission(1 << 30),
      chainBudgetMs: opts.chainBudgetMs ?? Infinity,
    },
    { nextGlobal: 1, lastCommittedAt: 0 },
  );
  return { p, hints };
}

describe('commit groups written alone', () => {
  it('a writer appending again as soon as its receipt arrives is alone from its second group on', async () => {
    const { p, hints } = pipeline();
    for (let i = 0; i < 4; i++) await p.appendBatch([draft('a'), draft('b')]);
    expect(hints).toEqual(['not alone', 'alone', 'alone', 'alone']);
  });

  it('an append that arrives in a later turn of the event loop (a request, a timer) is never alone', async () => {
    const { p, hints } = pipeline();
    for (let i = 0; i < 3; i++) {
      await p.appendOne(draft('a'), undefined);
      await macrotask();
    }
    expect(hints).toEqual(['not alone', 'not alone', 'not alone']);
  });

  it('concurrent writers awaiting their receipts share a group that is alone', async () => {
    const { p, hints } = pipeline({ writeTakes: macrotask });
    await Promise.all(['a', 'b', 'c'].map(async (e) => {
      for (let i = 0; i < 3; i++) await p.appendOne(draft(e), undefined);
    }));
    expect(hints).toEqual(['not alone', 'alone', 'alone']);
  });

  it('a group started while the one before it is still landing is not alone (its callers would wait for the flush)', async () => {
    const held: (() => void)[] = [];
    const { p, hints } = pipeline({ writeTakes: () => new Promise<void>((resolve) => held.push(resolve)) });
    const release = async () => {
      held.shift()!();
      await macrotask();
    };
    // Writer a appends again as soon as its receipt arrives; b's append arrives while a's first group is written.
    const a = (async () => {
      await p.appendOne(draft('a'), undefined);
      await p.appendOne(draft('a'), undefined);
    })();
    await macrotask();
    const b = p.appendOne(draft('b'), undefined);
    await macrotask();
    // a's first group lands: b's group is started, and a's second append is prepared behind it in the landing's turn.
    await release();
    // b's group lands: a's second group is started before b's receipt is handed out.
    await release();
    await release();
    await Promise.all([a, b]);
    expect(hints).toEqual(['not alone', 'not alone', 'not alone']);
  });

  it('a writer looping on its receipts lets the event loop turn: after 10 ms of groups alone, one is not', async () => {
    // Alone: written on the calling thread (1 ms of flush); otherwise a trip through the pool (a turn of the loop).
    const { p, hints } = pipeline({
      chainBudgetMs: 10,
      writeTakes: async (hint) => {
        if (hint !== 'alone') return macrotask();
        const until = performance.now() + 1;
        while (performance.now() < until);
      },
    });
    await p.appendOne(draft('a'), undefined);
    let turned = false;
    setImmediate(() => (turned = true));
    let groups = 0;
    while (!turned && groups < 200) {
      await p.appendOne(draft('a'), undefined);
      groups++;
    }
    expect(turned).toBe(true);
    expect(groups).toBeLessThan(20);
    expect(hints.slice(1, -1).every((h) => h === 'alone')).toBe(true);
    expect(hints.at(-1)).toBe('not alone');
  });

  it('a group with appends queued behind it (cut at the group byte limit) is not alone', async () => {
    const { p, hints } = pipeline();
    await p.appendOne(draft('a'), undefined);
    const big = () => Array.from({ length: 5 }, (_, i) => draft(`e${i}`, 1 << 20));
    // Both in the landing's turn, together over the 8 MiB a group may hold: the first goes out with the second still
    // queued (then prepared behind it, so started as the first lands: not alone either).
    await Promise.all([p.appendBatch(big()), p.appendBatch(big())]);
    expect(hints).toEqual(['not alone', 'not alone', 'not alone']);
  });
});
