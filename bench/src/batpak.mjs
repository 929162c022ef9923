// The system under test: @batpak/core Store as a user opens it (sync 'always'), unsigned, signed or with payload encryption, appending 256 B raw events.
// Invariant: only the public API is used; the Fs is RealFs behind a counting wrapper, so fsyncs/event is measured.

import { randomBytes } from 'node:crypto';
import { Store, Coordinate } from '@batpak/core';
import { CountingFs } from './counting-fs.mjs';
import { freshDir, removeDir } from './tmp.mjs';

/** A user kind (category 1, type 1): raw application bytes, the closest match to a peer's 256 B value. */
export const BENCH_KIND = { category: 1, typeId: 1 };

/** A fixed seed so signed runs are repeatable; any 32 bytes will do. */
const SIGNING_SEED = new Uint8Array(32).fill(7);

export const FLAVOURS = {
  unsigned: {},
  signed: { signingKey: SIGNING_SEED },
  encrypted: { payloadEncryption: {} },
};

export function storeOptions(flavour, extra = {}) {
  const base = FLAVOURS[flavour];
  if (base === undefined) throw new Error(`unknown flavour ${flavour}`);
  return { ...base, ...extra };
}

/** One entity per writer, as independent streams would be; coordinates are built once, not per append. */
function writerCoords(n) {
  return Array.from({ length: n }, (_, i) => new Coordinate(`writer-${i}`, 'bench'));
}

/** Concurrent appendRaw calls, one 256 B event each; receipts resolve after the group's fdatasync. */
export async function openSingle(dir, payload, flavour) {
  const fs = new CountingFs();
  const store = await Store.open({ dir, fs, ...storeOptions(flavour) });
  const coords = writerCoords(256);
  fs.reset();
  return {
    append: (w) => store.appendRaw(coords[w], BENCH_KIND, payload),
    counters: () => ({ fsyncs: fs.fsyncs, writes: fs.appends, appendMs: fs.appendMs, fsyncMs: fs.fsyncMs }),
    async close() {
      await store.close();
    },
  };
}

/** appendBatch of 100 events (atomic, one commit): the batch equivalent of SQLite's 100 INSERTs per transaction. */
export async function openBatch100(dir, payload, flavour) {
  const fs = new CountingFs();
  const store = await Store.open({ dir, fs, ...storeOptions(flavour) });
  const coords = writerCoords(256);
  const items = coords.map((coord) => Array.from({ length: 100 }, () => ({ coord, kind: BENCH_KIND, payload })));
  fs.reset();
  return {
    eventsPerCall: 100,
    append: (w) => store.appendBatch(items[w]),
    counters: () => ({ fsyncs: fs.fsyncs, writes: fs.appends, appendMs: fs.appendMs, fsyncMs: fs.fsyncMs }),
    async close() {
      await store.close();
    },
  };
}

export function randomPayload(size) {
  return new Uint8Array(randomBytes(size));
}

/** `fn(store)` on a default store in a fresh directory, closed and removed after; setup and teardown stay outside what fn times. */
export async function withStore(label, fn) {
  const dir = freshDir(label);
  const store = await Store.open({ dir });
  try {
    return await fn(store);
  } finally {
    await store.close();
    removeDir(dir);
  }
}
