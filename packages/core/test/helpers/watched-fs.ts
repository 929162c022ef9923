// A SimFs seen through a Proxy that reports every `readAt` of every file it opens (path, position, length): what
// the read-path tests count to show a read happened once, or not at all.
import type { SimFs } from '../../src/entry/testing.js';
import type { Fs, FsFile } from '../../src/fs/fs.js';

export function watched(sim: SimFs, onRead: (path: string, position: number, length: number) => void): Fs {
  return new Proxy(sim, {
    get(target, prop, receiver) {
      if (prop === 'open') {
        return async (path: string, options?: Parameters<Fs['open']>[1]): Promise<FsFile> => {
          const f = await target.open(path, options);
          return new Proxy(f, {
            get(ft, fp, fr) {
              if (fp === 'readAt') {
                return async (p: number, n: number) => {
                  onRead(path, p, n);
                  return ft.readAt(p, n);
                };
              }
              const v = Reflect.get(ft, fp, fr) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ft) : v;
            },
          });
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  }) as Fs;
}
