import { readdir, readFile, writeFile, appendFile, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, EventRegistry, Store } from '../src/index.js';
import { tempDir } from './helpers/tmp.js';

const Deposited = defineEvent<{ amount: number; note?: string }>({ category: 0x1, typeId: 1, name: 'Deposited' });
const Withdrawn = defineEvent<{ amount: number }>({ category: 0x1, typeId: 2, name: 'Withdrawn' });
const acct = (n: number) => new Coordinate(`account:${n}`, 'bank');

async function expectCode(p: Promise<unknown> | (() => unknown), code: string): Promise<BatpakError> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    expect(err).toBeInstanceOf(BatpakError);
    expect((err as BatpakError).code).toBe(code);
    return err as BatpakError;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

describe('Store basics on RealFs', () => {
  it('appends, reads back, survives reopen', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const r1 = await store.append(acct(1), Deposited, { amount: 10, note: 'first' });
    const r2 = await store.append(acct(1), Withdrawn, { amount: 3 });
    const r3 = await store.append(acct(2), Deposited, { amount: 5 });
    expect(r1.globalSequence).toBe(1n);
    expect(r1.entitySequence).toBe(1n);
    expect(r2.entitySequence).toBe(2n);
    expect(r3.entitySequence).toBe(1n);
    expect(r1.prevHash).toEqual(new Uint8Array(32));
    expect(r2.prevHash).toEqual(r1.contentHash);
    expect(r1.eventId).toMatch(/^[0-9a-f]{32}$/);
    const e1 = await store.get(r1.eventId);
    expect(e1.payload).toEqual({ amount: 10, note: 'first' });
    expect(e1.coordinate.entity).toBe('account:1');
    expect(e1.header.kind).toEqual({ category: 1, typeId: 1 });
    await store.close();

    const again = await Store.open({ dir });
    const all = [];
    for await (const e of again.query()) all.push(e.header.eventId);
    expect(all).toEqual([r1.eventId, r2.eventId, r3.eventId]);
    const only1 = [];
    for await (const e of again.query({ entity: 'account:1', kind: { category: 1, typeId: 2 } })) only1.push(e.payload);
    expect(only1).toEqual([{ amount: 3 }]);
    const r4 = await again.append(acct(1), Deposited, { amount: 1 });
    expect(r4.globalSequence).toBe(4n);
    expect(r4.entitySequence).toBe(3n);
    expect(r4.prevHash).toEqual(r2.contentHash);
    const report = await again.verifyChain();
    expect(report.intact).toBe(true);
    expect(report.eventsChecked).toBe(4);
    await again.close();
  });

  it('query honours after and limit', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    for (let i = 0; i < 10; i++) await store.append(acct(i % 3), Deposited, { amount: i });
    const got = [];
    for await (const e of store.query({ after: 4n, limit: 3 })) got.push(e.header.globalSequence);
    expect(got).toEqual([5n, 6n, 7n]);
    const ent = [];
    for await (const e of store.query({ entity: 'account:0', after: 1n })) ent.push(e.header.globalSequence);
    expect(ent).toEqual([4n, 7n, 10n]);
    await store.close();
  });

  it('INV-IDEMPOTENT-APPEND: idempotency keys return the original receipt and write nothing', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const a = await store.append(acct(1), Deposited, { amount: 1 }, { idempotencyKey: 'op-1' });
    const bytesBefore = store.stats().bytes;
    const b = await store.append(acct(1), Deposited, { amount: 1 }, { idempotencyKey: 'op-1' });
    expect(b).toEqual(a);
    // The key with a different request is a conflict, not the original receipt (INV-IDEMPOTENCY-SAME-REQUEST).
    await expectCode(store.append(acct(1), Deposited, { amount: 999 }, { idempotencyKey: 'op-1' }), 'ERR_IDEMPOTENCY_CONFLICT');
    expect(store.stats().bytes).toBe(bytesBefore);
    expect(store.stats().events).toBe(1n);
    // Concurrent repeats resolve to one event.
    const [c, d] = await Promise.all([
      store.append(acct(2), Deposited, { amount: 1 }, { idempotencyKey: 'op-2' }),
      store.append(acct(2), Deposited, { amount: 1 }, { idempotencyKey: 'op-2' }),
    ]);
    expect(c.eventId).toBe(d.eventId);
    expect(store.stats().events).toBe(2n);
    await store.close();
    const again = await Store.open({ dir });
    const e = await again.append(acct(1), Deposited, { amount: 1 }, { idempotencyKey: 'op-1' });
    expect(e.eventId).toBe(a.eventId);
    expect(e.globalSequence).toBe(a.globalSequence);
    expect(again.stats().events).toBe(2n);
    await again.close();
  });

  it('INV-IDEMPOTENT-APPEND: expectedSequence gives optimistic concurrency', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    await store.append(acct(1), Deposited, { amount: 1 }, { expectedSequence: 0n });
    await expectCode(store.append(acct(1), Deposited, { amount: 1 }, { expectedSequence: 0n }), 'ERR_SEQUENCE_CONFLICT');
    await store.append(acct(1), Deposited, { amount: 1 }, { expectedSequence: 1n });
    // Two writers racing on the same expected sequence: exactly one wins.
    const results = await Promise.allSettled([
      store.append(acct(1), Deposited, { amount: 2 }, { expectedSequence: 2n }),
      store.append(acct(1), Deposited, { amount: 3 }, { expectedSequence: 2n }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    expect(store.stats().events).toBe(3n);
    await store.close();
  });

  it('appendBatch commits all items with consecutive sequences and chains within the batch', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const receipts = await store.appendBatch([
      { coord: acct(1), kind: Deposited, payload: { amount: 1 } },
      { coord: acct(1), kind: Withdrawn, payload: { amount: 1 } },
      { coord: acct(2), kind: { category: 2, typeId: 7 }, payload: new Uint8Array([1, 2, 3]) },
    ]);
    expect(receipts.map((r) => r.globalSequence)).toEqual([1n, 2n, 3n]);
    expect(receipts[1]!.prevHash).toEqual(receipts[0]!.contentHash);
    const raw = await store.get(receipts[2]!.eventId);
    expect(raw.payload).toEqual(new Uint8Array([1, 2, 3]));
    expect(raw.header.batch).toEqual({ first: 1n, index: 2, count: 3 });
    await store.close();
  });

  it('INV-WRITER-LOCK: a second writer is refused with ERR_STORE_LOCKED; read-only opens work beside it', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const r = await store.append(acct(1), Deposited, { amount: 1 });
    await expectCode(Store.open({ dir }), 'ERR_STORE_LOCKED');
    const ro = await Store.openReadOnly(dir);
    expect((await ro.get(r.eventId)).payload).toEqual({ amount: 1 });
    await expectCode(ro.append(acct(1), Deposited, { amount: 1 }), 'ERR_READ_ONLY');
    await ro.close();
    await store.close();
    const next = await Store.open({ dir });
    await next.close();
  });

  it('closed stores refuse every call with ERR_STORE_CLOSED; close is idempotent', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const r = await store.append(acct(1), Deposited, { amount: 1 });
    await store.close();
    await store.close();
    await expectCode(store.append(acct(1), Deposited, { amount: 1 }), 'ERR_STORE_CLOSED');
    await expectCode(store.get(r.eventId), 'ERR_STORE_CLOSED');
    await expectCode(() => store.stats(), 'ERR_STORE_CLOSED');
  });

  it('rotates segments at segmentMaxBytes and reads across them', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir, segmentMaxBytes: 1024 });
    const ids = [];
    for (let i = 0; i < 50; i++) ids.push((await store.append(acct(i % 4), Deposited, { amount: i, note: 'x'.repeat(40) })).eventId);
    expect(store.stats().segments).toBeGreaterThan(3);
    await store.close();
    const files = (await readdir(dir)).filter((f) => f.endsWith('.bps'));
    expect(files.length).toBeGreaterThan(3);
    const again = await Store.open({ dir, segmentMaxBytes: 1024 });
    for (let i = 0; i < 50; i++) expect((await again.get(ids[i]!)).payload).toEqual({ amount: i, note: 'x'.repeat(40) });
    expect((await again.verifyChain()).intact).toBe(true);
    await again.close();
  });
});

describe('INV-TYPED-ERRORS: bad input is a typed error and loses nothing', () => {
  it('invalid coordinates, kinds, payloads, sizes', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir, payloadMaxBytes: 100 });
    const ok = await store.append(acct(1), Deposited, { amount: 1 });
    await expectCode(() => new Coordinate('', 's'), 'ERR_INVALID_COORDINATE');
    await expectCode(() => new Coordinate('a/b', 's'), 'ERR_INVALID_COORDINATE');
    await expectCode(() => new Coordinate('a', 's\u0001'), 'ERR_INVALID_COORDINATE');
    await expectCode(store.append({ entity: 'x', scope: '' } as unknown as Coordinate, Deposited, { amount: 1 }), 'ERR_INVALID_COORDINATE');
    await expectCode(store.append('nope' as unknown as Coordinate, Deposited, { amount: 1 }), 'ERR_INVALID_COORDINATE');
    await expectCode(store.appendRaw(acct(1), { category: 0, typeId: 1 }, new Uint8Array(1)), 'ERR_INVALID_KIND');
    await expectCode(store.appendRaw(acct(1), { category: 0xd, typeId: 1 }, new Uint8Array(1)), 'ERR_INVALID_KIND');
    await expectCode(store.appendRaw(acct(1), { category: 16, typeId: 1 }, new Uint8Array(1)), 'ERR_INVALID_KIND');
    await expectCode(store.appendRaw(acct(1), { category: 1, typeId: 4096 }, new Uint8Array(1)), 'ERR_INVALID_KIND');
    await expectCode(() => defineEvent({ category: 0, typeId: 1 }), 'ERR_INVALID_KIND');
    await expectCode(store.append(acct(1), Deposited, { amount: 1, note: 'x'.repeat(200) }), 'ERR_PAYLOAD_TOO_LARGE');
    await expectCode(store.appendRaw(acct(1), { category: 1, typeId: 1 }, new Uint8Array(101)), 'ERR_PAYLOAD_TOO_LARGE');
    await expectCode(store.get('zz'), 'ERR_INVALID_ARGUMENT');
    await expectCode(store.get('0'.repeat(32)), 'ERR_NOT_FOUND');
    expect(store.stats().events).toBe(1n);
    expect((await store.get(ok.eventId)).payload).toEqual({ amount: 1 });
    await store.close();
  });

  it('a registry refuses unknown kinds and validates payloads', async () => {
    const dir = await tempDir();
    const Checked = defineEvent<{ n: number }>({
      category: 3,
      typeId: 1,
      validate: (x): x is { n: number } => typeof x === 'object' && x !== null && typeof (x as { n?: unknown }).n === 'number',
    });
    const store = await Store.open({ dir, registry: new EventRegistry([Deposited, Checked]) });
    await expectCode(store.append(acct(1), Withdrawn, { amount: 1 }), 'ERR_INVALID_KIND');
    await expectCode(store.append(acct(1), Checked, { n: 'x' } as unknown as { n: number }), 'ERR_INVALID_PAYLOAD');
    await store.append(acct(1), Checked, { n: 1 });
    await store.close();
  });

  it('garbage files in the data dir are ignored, garbage segment files are ERR_CORRUPT_SEGMENT', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const r = await store.append(acct(1), Deposited, { amount: 1 });
    await store.close();
    await writeFile(join(dir, 'notes.txt'), 'hello');
    await writeFile(join(dir, '12.bps'), 'not a segment name we use');
    const again = await Store.open({ dir });
    expect((await again.get(r.eventId)).payload).toEqual({ amount: 1 });
    await again.close();
    await writeFile(join(dir, '000000.bps'), 'garbage garbage garbage garbage garbage');
    // 000000 is not a valid id (ids start at 1): ignored too.
    const third = await Store.open({ dir });
    await third.close();
    const before = await readFile(join(dir, '000001.bps'));
    await writeFile(join(dir, '000002.bps'), Buffer.alloc(100, 0x41));
    await writeFile(join(dir, '000003.bps'), Buffer.alloc(10, 0));
    const err = await expectCode(Store.open({ dir }), 'ERR_CORRUPT_SEGMENT');
    expect(err.details.file).toContain('000002.bps');
    expect(await readFile(join(dir, '000001.bps'))).toEqual(before);
  });
});

describe('tamper and torn tails on RealFs', () => {
  it('INV-CHAIN-RECOMPUTE: flipping one payload byte is reported by verifyChain with that event id', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const rs = [];
    for (let i = 0; i < 5; i++) rs.push(await store.append(acct(1), Deposited, { amount: i, note: `marker-${i}` }));
    await store.close();
    const path = join(dir, '000001.bps');
    const bytes = await readFile(path);
    const at = bytes.indexOf(Buffer.from('marker-2'));
    expect(at).toBeGreaterThan(0);
    bytes[at]! ^= 0x01;
    await writeFile(path, bytes);
    const ro = await Store.openReadOnly(dir).catch((e: unknown) => e);
    // A flipped byte mid-segment fails its CRC: a plain open refuses it...
    expect(ro).toBeInstanceOf(BatpakError);
    expect((ro as BatpakError).code).toBe('ERR_CORRUPT_SEGMENT');
    expect((ro as BatpakError).details.offset).toBeGreaterThan(0);
  });

  it('verifyChain on an open store names the event whose bytes changed under it', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const rs = [];
    for (let i = 0; i < 5; i++) rs.push(await store.append(acct(1), Deposited, { amount: i, note: `marker-${i}` }));
    const path = join(dir, '000001.bps');
    const bytes = await readFile(path);
    const at = bytes.indexOf(Buffer.from('marker-3'));
    bytes[at]! ^= 0x01;
    await writeFile(path, bytes);
    const report = await store.verifyChain();
    expect(report.intact).toBe(false);
    expect(report.contentHashMismatches).toEqual([rs[3]!.eventId]);
    expect(report.corruptFrames.map((c) => c.eventId)).toEqual([rs[3]!.eventId]);
    expect(report.danglingLinks).toEqual([]);
    await expectCode(store.get(rs[3]!.eventId), 'ERR_CORRUPT_SEGMENT');
    await store.close();
  });

  it('INV-TORN-TAIL: a cut the checkpoint recorded is refused for writing; with allowDataLoss it reopens with the prefix', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const rs = [];
    for (let i = 0; i < 5; i++) rs.push(await store.append(acct(1), Deposited, { amount: i }));
    await store.close();
    const path = join(dir, '000001.bps');
    const size = (await stat(path)).size;
    await truncate(path, size - 7);
    // The checkpoint written at close recorded 5 events: the lost one is damage a writer refuses to build on
    // (INV-DIRECTORY-EVIDENCE) unless told to; a tail torn after the last close reopens as before (below).
    await expectCode(Store.open({ dir }), 'ERR_CORRUPT_SEGMENT');
    const again = await Store.open({ dir, allowDataLoss: true });
    expect(again.stats().events).toBe(4n);
    expect((await again.get(rs[3]!.eventId)).payload).toEqual({ amount: 3 });
    await expectCode(again.get(rs[4]!.eventId), 'ERR_NOT_FOUND');
    const r = await again.append(acct(1), Deposited, { amount: 9 });
    expect(r.prevHash).toEqual(rs[3]!.contentHash);
    expect((await again.verifyChain()).directoryDamage.map((d) => d.reason)).toEqual(['events-missing']);
    await again.close();
    // The close recorded the new state: the next open is clean.
    const third = await Store.open({ dir });
    expect((await third.verifyChain()).intact).toBe(true);
    await third.close();
  });

  it('a partial frame appended by a crash is cut on open', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    await store.append(acct(1), Deposited, { amount: 1 });
    await store.close();
    const path = join(dir, '000001.bps');
    await appendFile(path, Buffer.from([0x42, 0x50, 0x4b, 0x46, 0, 0, 1, 0, 1, 2]));
    const again = await Store.open({ dir });
    expect(again.stats().events).toBe(1n);
    await again.close();
    const size = (await stat(path)).size;
    const reopened = await Store.openReadOnly(dir);
    expect(reopened.stats().bytes).toBe(BigInt(size));
    await reopened.close();
  });
});

describe('live tail primitives', () => {
  it('waitForSequence resolves after the next commit and lastSequence tracks commits', async () => {
    const dir = await tempDir();
    const store = await Store.open({ dir });
    expect(store.lastSequence).toBe(0n);
    const waiting = store.waitForSequence(0n);
    // Nothing is committed yet: the wait is still pending after the current turn.
    expect(await Promise.race([waiting, new Promise((r) => setImmediate(() => r('pending')))])).toBe('pending');
    await store.append(acct(1), Deposited, { amount: 1 });
    expect(await waiting).toBe(1n);
    expect(await store.waitForSequence(0n)).toBe(1n);
    const ac = new AbortController();
    const aborted = store.waitForSequence(5n, { signal: ac.signal });
    ac.abort();
    await expectCode(aborted, 'ERR_ABORTED');
    const closing = expectCode(store.waitForSequence(5n), 'ERR_STORE_CLOSED');
    await store.close();
    await closing;
  });
});

describe('recovery refuses silent holes', () => {
  it('INV-CRASH-ORACLE: frames lost at a frame boundary of a sealed segment are ERR_CORRUPT_SEGMENT, not a broken chain', async () => {
    // Found by the crash oracle (seed 1312): a lying fsync lost the tail of segment N exactly at a
    // frame boundary while rotation had already made segment N+1 durable.
    const dir = await tempDir();
    const store = await Store.open({ dir, segmentMaxBytes: 300 });
    for (let i = 0; i < 12; i++) await store.append(acct(1), Deposited, { amount: i, note: 'y'.repeat(30) });
    await store.close();
    const segs = (await readdir(dir)).filter((f) => f.endsWith('.bps')).sort();
    expect(segs.length).toBeGreaterThan(2);
    const first = join(dir, segs[0]!);
    const bytes = await readFile(first);
    // Cut the last whole frame of the first segment (frames start after the 32-byte header).
    let pos = 32;
    let lastStart = 32;
    while (pos < bytes.length) {
      lastStart = pos;
      pos += 12 + bytes.readUInt32BE(pos + 4);
    }
    await writeFile(first, bytes.subarray(0, lastStart));
    const err = await expectCode(Store.open({ dir }), 'ERR_CORRUPT_SEGMENT');
    expect(err.message).toMatch(/missing/);
  });
});

describe('importEvents', () => {
  it('keeps ids, payload bytes and content hashes; refuses duplicates and wrong hashes whole', async () => {
    const { blake3 } = await import('../src/crypto/blake3.js');
    const { encodePayload } = await import('../src/payload.js');
    const dir = await tempDir();
    const store = await Store.open({ dir });
    const mk = (id: string, n: number) => {
      const payload = encodePayload({ amount: n });
      return { eventId: id, coordinate: acct(1), kind: { category: 1, typeId: 1 }, payload, contentHash: blake3(payload), payloadVersion: 1, committedAt: 1_000n + BigInt(n) };
    };
    const a = 'a'.repeat(32);
    const b = 'b'.repeat(32);
    const rs = await store.importEvents([mk(a, 1), mk(b, 2)]);
    expect(rs.map((r) => r.eventId)).toEqual([a, b]);
    expect(rs[1]!.prevHash).toEqual(rs[0]!.contentHash);
    // Original commit times are kept (they do not go backwards in log order here).
    expect(rs.map((r) => r.committedAt)).toEqual([1_001n, 1_002n]);
    expect((await store.get(a)).payload).toEqual({ amount: 1 });
    await expectCode(store.importEvents([mk('c'.repeat(32), 3), mk(a, 1)]), 'ERR_INVALID_ARGUMENT');
    await expectCode(store.importEvents([{ ...mk('d'.repeat(32), 4), contentHash: new Uint8Array(32) }]), 'ERR_INVALID_ARGUMENT');
    expect(store.stats().events).toBe(2n);
    const after = await store.append(acct(1), Deposited, { amount: 5 });
    expect(after.prevHash).toEqual(rs[1]!.contentHash);
    expect(after.committedAt).toBeGreaterThanOrEqual(rs[1]!.committedAt);
    expect((await store.verifyChain()).intact).toBe(true);
    await store.close();
    const enc = await Store.open({ dir: await tempDir(), payloadEncryption: {} });
    await expectCode(enc.importEvents([mk('e'.repeat(32), 5)]), 'ERR_INVALID_ARGUMENT');
    await enc.close();
  });
});
