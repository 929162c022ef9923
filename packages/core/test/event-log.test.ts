// EventLog, the read interface of both stores: the native Store and RustStore satisfy it as they are, and
// the same checks, written once against the interface, pass on a native store and on a Rust directory.
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { cstr, encodeCanonical } from '../src/encoding/canonical.js';
import { bytesEqual, toHex } from '../src/encoding/hex.js';
import type { EventLog } from '../src/event-log.js';
import { Coordinate, Store } from '../src/index.js';
import { RustKinds } from '../src/rust/format.js';
import { openRustStore, RustStore } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';
import type { StoredEvent } from '../src/types.js';
import { RustLogBuilder } from './helpers/rust-log-builder.js';

// Type level: both classes, unchanged, are EventLogs (a missing or incompatible member fails the typecheck).
const nativeIsEventLog: EventLog = null as unknown as Store;
const rustIsEventLog: EventLog = null as unknown as RustStore;
void nativeIsEventLog;
void rustIsEventLog;

/** Events of the test log, in commit order: three of entity `a`, two of `b`, interleaved. */
const PLAN = [
  ['a', 0],
  ['b', 1],
  ['a', 2],
  ['b', 3],
  ['a', 4],
] as const;

interface Fixture {
  readonly log: EventLog;
  /** Event ids in commit order (as PLAN). */
  readonly ids: readonly string[];
  /** The payload bytes each event stores. */
  readonly stored: readonly Uint8Array[];
  /** Flips one byte inside event `i`'s stored payload on disk. */
  readonly damage: (i: number) => void;
}

/** The offset of `text` in the file, which holds it exactly once. */
function offsetOf(fs: SimFs, path: string, text: string): number {
  const bytes = fs.inspect(path)!.current;
  const at = Buffer.from(bytes).indexOf(text);
  expect(at).toBeGreaterThan(0);
  expect(Buffer.from(bytes).indexOf(text, at + 1)).toBe(-1);
  return at;
}

async function nativeFixture(): Promise<Fixture> {
  const fs = new SimFs(3);
  let clock = 1_700_000_000_000;
  const store = await Store.open({ dir: '/db', fs, now: () => (clock += 1) });
  const ids: string[] = [];
  const stored: Uint8Array[] = [];
  for (const [entity, n] of PLAN) {
    const bytes = new TextEncoder().encode(`payload-${n}`);
    ids.push((await store.appendRaw(new Coordinate(entity, 's'), { category: 1, typeId: 0 }, bytes)).eventId);
    stored.push(bytes);
  }
  const seg = '/db/000001.bps';
  return { log: store, ids, stored, damage: (i) => fs.corrupt(seg, offsetOf(fs, seg, `payload-${PLAN[i]![1]}`), 0x20) };
}

async function rustFixture(): Promise<Fixture> {
  const b = new RustLogBuilder();
  const ids: string[] = [];
  const stored: Uint8Array[] = [];
  for (const [entity, n] of PLAN) {
    const payload = encodeCanonical(cstr(`payload-${n}`));
    ids.push(toHex(b.append({ entity, scope: 's', kind: RustKinds.DATA, payload }).eventId));
    stored.push(payload);
  }
  const fs = new SimFs(3);
  const files = [...b.files()];
  for (const [name, bytes] of files) fs.putFile(`/rust/${name}`, bytes);
  const seg = `/rust/${files[0]![0]}`;
  const log = await openRustStore('/rust', { fs });
  return { log, ids, stored, damage: (i) => fs.corrupt(seg, offsetOf(fs, seg, `payload-${PLAN[i]![1]}`), 0x20) };
}

async function collect(it: AsyncIterable<StoredEvent>): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for await (const e of it) out.push(e);
  return out;
}

describe.each([
  ['a native store', nativeFixture],
  ['a Rust directory', rustFixture],
] as const)('EventLog over %s', (_name, make) => {
  it('query lists every event in commit order, and filters by entity', async () => {
    const { log, ids } = await make();
    const all = await collect(log.query());
    expect(all.map((e) => e.header.eventId)).toEqual(ids);
    const seqs = all.map((e) => e.header.globalSequence);
    expect(seqs).toEqual([...seqs].sort((x, y) => (x < y ? -1 : 1)));
    expect(new Set(seqs).size).toBe(ids.length);
    expect((await collect(log.query({ entity: 'b' }))).map((e) => e.header.eventId)).toEqual([ids[1], ids[3]]);
    expect((await collect(log.query({ limit: 2 }))).map((e) => e.header.eventId)).toEqual(ids.slice(0, 2));
    await log.close();
  });

  it('get and getRaw return the event and its stored bytes, whose blake3 is the content hash', async () => {
    const { log, ids, stored } = await make();
    for (const [i, id] of ids.entries()) {
      const raw = await log.getRaw(id);
      expect(raw.header.eventId).toBe(id);
      expect(raw.coordinate.entity).toBe(PLAN[i]![0]);
      expect(bytesEqual(raw.bytes, stored[i]!)).toBe(true);
      expect(bytesEqual(raw.header.contentHash, blake3(stored[i]!))).toBe(true);
      const ev = await log.get(id);
      expect(ev.header).toEqual(raw.header);
      expect(ev.shredded).toBe(false);
    }
    await expect(log.get('f'.repeat(32))).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await log.close();
  });

  it('walkAncestors follows the entity chain back to its start', async () => {
    const { log, ids } = await make();
    const walk = await log.walkAncestors(ids[4]!);
    expect(walk.ancestors.map((e) => e.header.eventId)).toEqual([ids[4], ids[2], ids[0]]);
    expect(walk.boundary.kind).toBe('reached-genesis');
    const short = await log.walkAncestors(ids[4]!, { limit: 2 });
    expect(short.ancestors.map((e) => e.header.eventId)).toEqual([ids[4], ids[2]]);
    expect(short.boundary.kind).toBe('limit-reached');
    await log.close();
  });

  it('verifyChain is intact with progress, stats count the events', async () => {
    const { log, ids } = await make();
    const progress: [number, number][] = [];
    const report = await log.verifyChain({ onProgress: (done, total) => progress.push([done, total]) });
    expect(report.intact).toBe(true);
    expect(report.eventsChecked).toBe(ids.length);
    expect(progress.at(-1)).toEqual([ids.length, ids.length]);
    const stats = log.stats();
    expect(stats.events).toBe(BigInt(ids.length));
    expect(stats.segments).toBe(1);
    expect(stats.bytes).toBeGreaterThan(0n);
    expect(log.readOnly === true || log.readOnly === false).toBe(true);
    await log.close();
  });

  it('verifyChain names a damaged event instead of throwing, and honours an aborted signal', async () => {
    const { log, ids, damage } = await make();
    damage(2);
    const report = await log.verifyChain();
    expect(report.intact).toBe(false);
    expect(report.corruptFrames.map((c) => c.eventId)).toContain(ids[2]);
    const ac = new AbortController();
    ac.abort();
    await expect(log.verifyChain({ signal: ac.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await log.close();
  });

  it('after close every read fails with ERR_STORE_CLOSED', async () => {
    const { log, ids } = await make();
    await log[Symbol.asyncDispose]();
    await expect(log.get(ids[0]!)).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
    expect(() => log.stats()).toThrow(expect.objectContaining({ code: 'ERR_STORE_CLOSED' }));
    await expect(log.verifyChain()).rejects.toMatchObject({ code: 'ERR_STORE_CLOSED' });
  });
});
