// INV-RUST-READ-VERIFY: the import plan carries each Rust user event with its id, coordinate, kind, payload
// bytes and content hash unchanged, skips store-written events, refuses damaged sources, and the import itself
// refuses a native Store until it offers importEvents (no pretend import).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { blake3 } from '../src/crypto/blake3.js';
import { toHex } from '../src/encoding/hex.js';
import { decodeRustFrameBody, encodeRustFrameBody, rustFrameBytes } from '../src/rust/frame.js';
import { importRustStore, planRustImport, rustImportReportToJSON, type RustImportEvent, type RustImportTarget } from '../src/rust/import.js';
import { openRustStore } from '../src/rust/store.js';
import { Store } from '../src/store.js';
import { SimFs } from '../src/entry/testing.js';

const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));
const USER_ID = '0000000000000000000000000000ad05';

function fixtureFs(bytes = SEGMENT): SimFs {
  const fs = new SimFs(21);
  fs.putFile('/rust/000001.fbat', bytes);
  return fs;
}

/** A target honouring the importEvents contract in memory: used to exercise the driver, not as an import. */
class RecordingTarget implements RustImportTarget {
  readonly received: RustImportEvent[] = [];
  constructor(private readonly tamper = false) {}
  async importEvents(events: readonly RustImportEvent[]) {
    return events.map((e) => {
      this.received.push(e);
      return { eventId: e.eventId, globalSequence: BigInt(this.received.length), contentHash: this.tamper ? blake3(new Uint8Array(1)) : blake3(e.payload) };
    });
  }
}

describe('Rust import plan and report (INV-RUST-READ-VERIFY)', () => {
  it('INV-RUST-READ-VERIFY: the plan keeps id, coordinate, kind, payload bytes and content hash; system events are skipped and counted', async () => {
    const store = await openRustStore('/rust', { fs: fixtureFs() });
    const plan = await planRustImport(store);
    expect(plan.events).toHaveLength(1);
    const [e] = plan.events as [RustImportEvent];
    const raw = await store.getRaw(USER_ID);
    expect(e.eventId).toBe(USER_ID);
    expect(e.coordinate.toString()).toBe('entity:adr0009-checkpoint-v5@scope:fixture');
    expect(e.kind).toEqual({ category: 1, typeId: 0 });
    expect(e.payload).toEqual(raw.bytes);
    expect(e.contentHash).toEqual(blake3(e.payload));
    expect(toHex(e.contentHash)).toMatch(/^0a7ddac6.*58b1$/);
    expect(e.payloadVersion).toBe(0);
    expect(e.committedAt).toBe(1779011619177n);
    expect([...e.extensions]).toEqual([['app.audit', Uint8Array.of(5, 3)]]);
    expect(e.source).toEqual({ globalSequence: 1n, lane: 5, depth: 3, entitySequence: 0, prevHash: new Uint8Array(32) });

    expect(plan.report).toEqual({
      status: 'planned',
      source: { dir: '/rust', segments: 1, events: 3, firstSequence: 0n, lastSequence: 2n, warnings: [] },
      userEvents: 1,
      imported: 0,
      skipped: { system: 2, effect: 0, sealed: 0, byKind: { '0x0008': 1, '0x0009': 1 } },
      firstUserSequence: 1n,
      lastUserSequence: 1n,
      entities: [
        {
          entity: 'entity:adr0009-checkpoint-v5',
          events: 1,
          lanes: [5],
          headEventId: USER_ID,
          headContentHash: toHex(e.contentHash),
          headRustSequence: 1n,
        },
      ],
    });
    expect(JSON.parse(rustImportReportToJSON(plan.report))).toMatchObject({ source: { firstSequence: '0', lastSequence: '2' }, firstUserSequence: '1' });
  });

  it('INV-RUST-READ-VERIFY: a source whose chain does not verify is refused, before anything is mapped', async () => {
    // The user payload rewritten with a recomputed CRC: the frame reads, the hash does not match.
    const body = decodeRustFrameBody(SEGMENT.subarray(1076 + 8, 1597));
    const payload = body.payload.slice();
    payload[payload.length - 1] = '6'.charCodeAt(0);
    const bytes = SEGMENT.slice();
    bytes.set(rustFrameBytes(encodeRustFrameBody({ ...body, payload })), 1076);
    const store = await openRustStore('/rust', { fs: fixtureFs(bytes) });
    await expect(planRustImport(store)).rejects.toMatchObject({ code: 'ERR_CHAIN_VERIFICATION_FAILED', details: { contentHashMismatches: 1 } });
  });

  it('INV-RUST-READ-VERIFY: batpak import round trip — imported events keep their ids and content hashes and verify in the native store', async () => {
    const fs = fixtureFs();
    const native = await Store.open({ dir: '/native', fs, signingKey: new Uint8Array(32).fill(1) });
    const report = await importRustStore('/rust', native, { fs });
    expect(report).toMatchObject({ status: 'imported', imported: 1, userEvents: 1 });
    const ev = await native.get(USER_ID);
    expect(ev.payload).toEqual({ fixture: 'checkpoint-v5' });
    expect(ev.coordinate.entity).toBe('entity:adr0009-checkpoint-v5');
    expect(ev.header.kind).toEqual({ category: 1, typeId: 0 });
    const rust = await openRustStore('/rust', { fs });
    const original = await rust.getRaw(USER_ID);
    expect((await native.getRaw(USER_ID)).bytes).toEqual(original.bytes);
    expect(ev.header.contentHash).toEqual(original.header.contentHash);
    await rust.close();
    expect((await native.verifyChain()).intact).toBe(true);
    // A second import of the same events is refused whole: ids already exist.
    await expect(importRustStore('/rust', native, { fs })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(native.stats().events).toBe(1n);
    await native.close();
    const again = await Store.open({ dir: '/native', fs, signingKey: new Uint8Array(32).fill(1) });
    expect((await again.get(USER_ID)).payload).toEqual({ fixture: 'checkpoint-v5' });
    await again.close();
  });

  it('drives a target that honours importEvents, checks ids and hashes it returns, and writes the report outside the Rust directory', async () => {
    const fs = fixtureFs();
    await fs.mkdir('/out');
    const target = new RecordingTarget();
    const progress: [number, number][] = [];
    const report = await importRustStore('/rust', target, { fs, reportFile: '/out/import-report.json', onProgress: (d, t) => progress.push([d, t]) });
    expect(target.received.map((e) => e.eventId)).toEqual([USER_ID]);
    expect(report).toMatchObject({ status: 'imported', imported: 1, userEvents: 1 });
    expect(report.entities[0]).toMatchObject({ headEventId: USER_ID, headTargetSequence: 1n });
    expect(progress).toEqual([[1, 1]]);
    const written = JSON.parse(new TextDecoder().decode(fs.inspect('/out/import-report.json')!.current));
    expect(written).toMatchObject({ status: 'imported', imported: 1, entities: [{ headTargetSequence: '1' }] });
    expect(fs.listFiles().filter((p) => p.startsWith('/rust/'))).toEqual(['/rust/000001.fbat']);

    await expect(importRustStore('/rust', new RecordingTarget(), { fs, reportFile: '/rust/report.json' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(importRustStore('/rust', new RecordingTarget(true), { fs })).rejects.toMatchObject({ code: 'ERR_WRITER_FAILED', details: { eventId: USER_ID } });
  });
});
