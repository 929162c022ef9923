// INV-REPLICA-RESUME under injected faults: a replica whose disk fails writes, tears them and lies about
// fsync, crashed and reopened after every failure, still ends equal to the primary and verifying — it never
// holds half a group, a gap or a duplicate, and never needs more than a reopen to go on.

import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const Note = defineEvent<{ text: string }>({ category: 3, typeId: 1, name: 'Note' });
const SEEDS = Number(process.env.BATPAK_SIM_SEEDS ?? 30);

async function primaryGroups(): Promise<{ groups: Uint8Array[][]; publicKey: Uint8Array; headers: unknown[] }> {
  const fs = new SimFs(1);
  const store = await Store.open({ dir: '/p', fs, signingKey: new Uint8Array(32).fill(3), payloadEncryption: {} });
  for (let i = 0; i < 12; i++) {
    const n = 1 + (i % 4);
    await store.appendBatch(Array.from({ length: n }, (_, j) => ({ coord: new Coordinate(`e${(i + j) % 5}`, 's'), kind: Note, payload: { text: `${i}/${j}` } })));
  }
  await store.shredScope({ entity: 'e1' });
  const groups: Uint8Array[][] = [];
  const headers: unknown[] = [];
  let open: Uint8Array[] = [];
  for await (const e of store.query()) {
    headers.push((await store.getRaw(e.header.eventId)).header);
    const f = await store.replicationFrames(e.header.eventId);
    open.push(f.event);
    if (f.seal !== undefined) {
      groups.push([...open, f.seal]);
      open = [];
    }
  }
  const publicKey = store.publicKey!;
  await store.close();
  return { groups, publicKey, headers };
}

describe('INV-REPLICA-RESUME under faults (SimFs: EIO, short writes, lying fsyncs, crashes)', () => {
  it(`ends equal to the primary for ${SEEDS} seeds`, async () => {
    const { groups, publicKey, headers } = await primaryGroups();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const fs = new SimFs(seed);
      fs.setFaultRate({ probability: 0.06, kinds: ['EIO', 'ENOSPC', 'short-write', 'fsync-lie'], ops: ['append', 'fsync', 'writeAt', 'syncDir', 'truncate'] });
      let crashes = 0;
      for (;;) {
        if (crashes > 300) throw new Error(`seed ${seed}: no progress after 300 crashes`);
        let replica;
        try {
          replica = await Store.openReplica('/r', { fs, publicKeys: [publicKey] });
        } catch (err) {
          expect(err, `seed ${seed}: open fails only with a typed error`).toBeInstanceOf(BatpakError);
          fs.crash({ tear: true });
          crashes++;
          continue;
        }
        try {
          for (const g of groups) await replica.apply(g);
          await replica.close();
          break;
        } catch (err) {
          expect(err, `seed ${seed}: apply fails only with a typed I/O error`).toBeInstanceOf(BatpakError);
          expect((err as BatpakError).code).not.toBe('ERR_REPLICA_REFUSED');
          fs.crash({ tear: true });
          crashes++;
        }
      }
      fs.setFaultRate(null);
      const r = await Store.openReadOnly('/r', { fs, trustedPublicKeys: [publicKey] });
      const report = await r.verifyChain();
      expect(report.intact, `seed ${seed}`).toBe(true);
      expect(r.stats().events).toBe(BigInt(headers.length));
      const got = [];
      for (const h of headers) got.push((await r.getRaw((h as { eventId: string }).eventId)).header);
      expect(got, `seed ${seed}`).toEqual(headers);
      await r.close();
    }
  }, 120_000);
});
