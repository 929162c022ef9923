// The append contenders of scenarios 1 and 2 in one table: batpak flavours, the peers and the raw fs ceilings.
// Invariant: every contender has one shape { id, label, durable, writers, load(), open(dir, payload) }; one that cannot load keeps its reason.

import * as batpak from './batpak.mjs';
import * as rawFs from './peers/raw-fs.mjs';
import * as sqlite from './peers/sqlite.mjs';
import * as hypercore from './peers/hypercore.mjs';
import * as lmdb from './peers/lmdb.mjs';

const always = async () => ({ ok: true });

export const CONTENDERS = [
  ...['unsigned', 'signed', 'encrypted'].map((flavour) => ({
    id: `batpak-${flavour}`,
    label: `batpak ${flavour} (sync 'always')`,
    durable: 'yes',
    writers: [1, 8, 64],
    load: async () => ({ ok: true, version: 'workspace' }),
    open: (dir, payload) => batpak.openSingle(dir, payload, flavour),
  })),
  {
    id: 'batpak-unsigned-batch100',
    label: 'batpak unsigned appendBatch(100)',
    durable: 'yes (per batch)',
    writers: [1],
    load: always,
    open: (dir, payload) => batpak.openBatch100(dir, payload, 'unsigned'),
  },
  {
    id: 'sqlite-full',
    label: 'better-sqlite3 WAL synchronous=FULL, 1 INSERT/txn',
    durable: 'yes',
    writers: [1, 8, 64],
    load: sqlite.load,
    open: sqlite.openPerEvent,
  },
  {
    id: 'sqlite-full-batch100',
    label: 'better-sqlite3 WAL FULL, 100 INSERTs/txn',
    durable: 'yes (per txn)',
    writers: [1],
    load: sqlite.load,
    open: sqlite.openBatch100,
  },
  {
    id: 'hypercore',
    label: 'hypercore 11 append (not fsynced per append)',
    durable: 'no: not fsynced per append',
    writers: [1, 8, 64],
    load: hypercore.load,
    open: hypercore.openSingle,
  },
  {
    id: 'hypercore-batch100',
    label: 'hypercore 11 append([100]) (not fsynced per append)',
    durable: 'no: not fsynced per append',
    writers: [1],
    load: hypercore.load,
    open: hypercore.openBatch100,
  },
  {
    id: 'lmdb',
    label: 'lmdb put + await flushed',
    durable: 'yes',
    writers: [1, 64],
    load: lmdb.load,
    open: lmdb.openDurable,
  },
  {
    id: 'raw-fsync',
    label: 'raw fs writeSync + fdatasyncSync per event (ceiling)',
    durable: 'yes',
    writers: [1],
    load: always,
    open: rawFs.openFsyncLoop,
  },
  {
    id: 'raw-group-commit',
    label: 'raw fs group commit: writev + fdatasync per drained queue (ceiling)',
    durable: 'yes',
    writers: [1, 8, 64],
    load: always,
    open: rawFs.openGroupCommit,
  },
];

export function contender(id) {
  const c = CONTENDERS.find((x) => x.id === id);
  if (c === undefined) throw new Error(`unknown contender ${id}`);
  return c;
}
