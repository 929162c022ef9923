// hypercore 11 peer: the signed append-only log users compare with; its appends reach RocksDB's WAL but are NOT fsynced (anchors.md § 6).
// Invariant: loaded lazily, labelled "not fsynced per append" everywhere; when it cannot load, load() says why and the suite reports null.

import { pkgVersion } from '../pkg-version.mjs';

let Hypercore;

export async function load() {
  try {
    Hypercore = (await import('hypercore')).default;
    return { ok: true, version: pkgVersion('hypercore') };
  } catch (err) {
    return { ok: false, reason: `hypercore did not load: ${err.message.split('\n')[0]}` };
  }
}

/** Concurrent `core.append(buf)` calls, one buffer each (they do not coalesce). */
export async function openSingle(dir, payload) {
  const core = new Hypercore(dir);
  await core.ready();
  return {
    append: () => core.append(payload),
    async close() {
      await core.close();
    },
  };
}

/** `core.append([100 buffers])`: hypercore's batch path. */
export async function openBatch100(dir, payload) {
  const core = new Hypercore(dir);
  await core.ready();
  const batch = Array.from({ length: 100 }, () => payload);
  return {
    eventsPerCall: 100,
    append: () => core.append(batch),
    async close() {
      await core.close();
    },
  };
}
