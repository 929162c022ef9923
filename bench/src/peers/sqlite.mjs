// better-sqlite3 peer: WAL, synchronous=FULL, one INSERT per transaction (the durable per-event equivalent), and 100 per transaction (the batch one).
// Invariant: loaded lazily; when the native module is missing or fails to load, load() says why and the suite reports null.

import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
let Database;

export async function load() {
  try {
    Database = require('better-sqlite3');
    // Constructing a database is what actually loads the native addon.
    const db = new Database(':memory:');
    const v = db.prepare('select sqlite_version() as v').get().v;
    db.close();
    return { ok: true, version: `${require('better-sqlite3/package.json').version} (SQLite ${v})` };
  } catch (err) {
    return { ok: false, reason: `better-sqlite3 did not load: ${err.message.split('\n')[0]}` };
  }
}

function openDb(dir) {
  const db = new Database(join(dir, 'events.db'));
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so a committed transaction survives power loss.
  db.pragma('synchronous = FULL');
  db.exec('create table events (seq integer primary key, body blob not null)');
  return db;
}

/** One INSERT per transaction (autocommit): one WAL fsync per event. The API is synchronous. */
export async function openPerEvent(dir, payload) {
  const db = openDb(dir);
  const insert = db.prepare('insert into events (body) values (?)');
  return {
    append() {
      insert.run(payload);
    },
    async close() {
      db.close();
    },
  };
}

/** 100 INSERTs per transaction: append() writes a batch of 100 (the caller counts 100 events per call). */
export async function openBatch100(dir, payload) {
  const db = openDb(dir);
  const insert = db.prepare('insert into events (body) values (?)');
  const batch = db.transaction(() => {
    for (let i = 0; i < 100; i++) insert.run(payload);
  });
  return {
    eventsPerCall: 100,
    append() {
      batch();
    },
    async close() {
      db.close();
    },
  };
}
