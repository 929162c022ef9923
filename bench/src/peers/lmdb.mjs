// lmdb-js peer (optional): puts of one turn share a transaction and `await db.flushed` waits for its fdatasync (the strongest durable peer in anchors.md).
// Invariant: loaded lazily; when it cannot load, load() says why and the suite reports null.

import { pkgVersion } from '../pkg-version.mjs';

let openLmdb;

export async function load() {
  try {
    openLmdb = (await import('lmdb')).open;
    return { ok: true, version: pkgVersion('lmdb') };
  } catch (err) {
    return { ok: false, reason: `lmdb did not load: ${err.message.split('\n')[0]}` };
  }
}

/** `await db.put(k, v); await db.flushed`: resolves once durable (overlappingSync would otherwise resolve at commit). */
export async function openDurable(dir, payload) {
  const db = openLmdb({ path: dir, encoding: 'binary', compression: false });
  let key = 0;
  return {
    async append() {
      await db.put(++key, payload);
      await db.flushed;
    },
    async close() {
      await db.close();
    },
  };
}
