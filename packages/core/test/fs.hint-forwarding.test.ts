// Fs wrappers pass an append's AppendHint through to the file they wrap: the hint decides whether RealFs writes a commit
// group on the calling thread, so a wrapper that dropped it would silently change how (and how fast) groups are written.
import { describe, expect, it } from 'vitest';
import { borrowedFile } from '../src/fs/borrowed.js';
import type { AppendHint, Fs, FsFile } from '../src/fs/fs.js';
import { KillableFs } from '../src/fs/killable.js';
import { SimFs } from '../src/fs/sim.js';

/** An Fs whose files record the hint of every append before handing it to SimFs. */
function recording(): { fs: Fs; hints: (AppendHint | undefined)[] } {
  const hints: (AppendHint | undefined)[] = [];
  const sim = new SimFs(1);
  const fs = new Proxy(sim, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'open') return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      return async (...args: unknown[]): Promise<FsFile> => {
        const file = await sim.open(...(args as Parameters<Fs['open']>));
        return new Proxy(file, {
          get(f, p, r) {
            if (p === 'append') return (chunks: readonly Uint8Array[], hint?: AppendHint) => (hints.push(hint), f.append(chunks, hint));
            const v = Reflect.get(f, p, r) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(f) : v;
          },
        });
      };
    },
  }) as unknown as Fs;
  return { fs, hints };
}

describe('AppendHint through Fs wrappers', () => {
  it('KillableFs and borrowedFile forward the hint (and its absence) unchanged', async () => {
    const { fs, hints } = recording();
    await fs.mkdir('/d');
    const killable = await new KillableFs(fs).open('/d/a', { create: true, write: true });
    await killable.append([new Uint8Array([1])], { alone: true });
    await killable.append([new Uint8Array([2])], { alone: false });
    await killable.append([new Uint8Array([3])]);
    const borrowed = borrowedFile(await fs.open('/d/b', { create: true, write: true }));
    await borrowed.append([new Uint8Array([4])], { alone: true });
    await borrowed.append([new Uint8Array([5])], { alone: false });
    await borrowed.append([new Uint8Array([6])]);
    expect(hints).toEqual([{ alone: true }, { alone: false }, undefined, { alone: true }, { alone: false }, undefined]);
  });
});
