// keyStoreConformance: the cases every KeyStore must pass for payload encryption and crypto-shred to rely
// on it — nothing before the first persist, exact round trips, whole-image replacement, copies not shared
// with the caller, and persistence across a reopen. Invariant: FileKeyStore passes every case.

import type { KeyStore } from '../keyset/keystore.js';
import { buildCases, check, same, type ConformanceCase } from './conformance.js';

/** A KeyStore to test, how to open a second one over the same place, and how to clean up after a case. */
export interface KeyStoreUnderTest {
  readonly keyStore: KeyStore;
  /**
   * A new KeyStore over the same storage, as after a process restart. Without it the
   * `reopen-sees-last-image` case passes without checking anything.
   */
  reopen?(): KeyStore | Promise<KeyStore>;
  cleanup?(): Promise<void> | void;
}

/**
 * The KeyStore conformance cases. `factory` is called once per case and returns a fresh, empty store
 * (or a subject with `reopen`/`cleanup`).
 * Usage: `for (const c of keyStoreConformance(() => new MyKeyStore())) it(c.name, c.run)`.
 */
export function keyStoreConformance(factory: () => KeyStore | KeyStoreUnderTest | Promise<KeyStore | KeyStoreUnderTest>): ConformanceCase[] {
  const setup = async (): Promise<KeyStoreUnderTest> => {
    const made = await factory();
    return 'keyStore' in made ? made : { keyStore: made };
  };
  return buildCases('keyStoreConformance', setup, async (s) => s.cleanup?.(), KEYSTORE_CASES);
}

/** `n` bytes with every byte value represented, deterministic from `seed`. */
function image(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 131 + seed * 17 + (i >>> 8)) & 0xff;
  return out;
}

async function loadBytes(ks: KeyStore, what: string): Promise<Uint8Array> {
  const got = await ks.load();
  check(got instanceof Uint8Array, `${what}: expected load() to return a Uint8Array, got ${String(got)}`);
  return got;
}

type Body = (s: KeyStoreUnderTest) => Promise<void>;

const KEYSTORE_CASES: Readonly<Record<string, Body>> = {
  'has-a-name': async ({ keyStore }) => {
    check(typeof keyStore.name === 'string' && keyStore.name.length > 0, `name must be a non-empty string for messages, got ${String(keyStore.name)}`);
  },
  'load-before-persist-is-undefined': async ({ keyStore }) => {
    same(await keyStore.load(), undefined, 'load() of a store that never persisted');
  },
  'persist-then-load-round-trips': async ({ keyStore }) => {
    const img = image(1000, 1);
    await keyStore.persist(img);
    same(await loadBytes(keyStore, 'load after persist'), img, 'the loaded image');
  },
  'large-image-round-trips': async ({ keyStore }) => {
    const img = image(1 << 18, 2);
    await keyStore.persist(img);
    const got = await loadBytes(keyStore, 'load after a 256 KiB persist');
    same(got.byteLength, img.byteLength, 'length of a 256 KiB image');
    same(got, img, 'a 256 KiB image');
  },
  'persist-replaces-whole-image': async ({ keyStore }) => {
    await keyStore.persist(image(4096, 3));
    const short = image(10, 4);
    await keyStore.persist(short);
    same(await loadBytes(keyStore, 'load after a shorter persist'), short, 'a shorter image leaves no tail of the longer one');
  },
  'last-persist-wins': async ({ keyStore }) => {
    for (let i = 0; i < 5; i++) await keyStore.persist(image(64 + i, 10 + i));
    same(await loadBytes(keyStore, 'load after five persists'), image(68, 14), 'the image of the last persist');
  },
  'load-is-repeatable': async ({ keyStore }) => {
    const img = image(300, 5);
    await keyStore.persist(img);
    same(await loadBytes(keyStore, 'first load'), img, 'first load');
    same(await loadBytes(keyStore, 'second load'), img, 'second load');
  },
  'persist-keeps-its-own-copy': async ({ keyStore }) => {
    const img = image(128, 6);
    const expected = img.slice();
    await keyStore.persist(img);
    img.fill(0xee);
    same(await loadBytes(keyStore, 'load after the caller changed its buffer'), expected, 'the stored image, not the caller buffer');
  },
  'loaded-image-is-a-copy': async ({ keyStore }) => {
    const img = image(128, 7);
    await keyStore.persist(img);
    (await loadBytes(keyStore, 'first load')).fill(0xee);
    same(await loadBytes(keyStore, 'load after the caller changed a loaded image'), img, 'the stored image');
  },
  'reopen-sees-last-image': async (s) => {
    if (s.reopen === undefined) return;
    const img = image(500, 8);
    await s.keyStore.persist(image(700, 9));
    await s.keyStore.persist(img);
    const again = await s.reopen();
    same(await loadBytes(again, 'load through a reopened store'), img, 'the image seen after a reopen');
  },
};
