// INV-RUST-SIDECARS-REFUSED: beside the shared Rust fixture segment, a damaged store.meta and a store.meta,
// index.ckpt or index.fbati of a newer format version refuse the open by default, as Rust batpak does
// (ERR_CORRUPT_METADATA / ERR_FUTURE_FORMAT_VERSION); a damaged or older index is ignored, as Rust rebuilds it.
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cbin, cnil, cstruct, encodeCanonical, type CanonicalValue } from '../src/encoding/canonical.js';
import { openRustStore, type OpenRustStoreOptions } from '../src/rust/store.js';
import { SimFs } from '../src/entry/testing.js';

const SEGMENT = new Uint8Array(readFileSync(new URL('../../../fixtures/rust-core/store-checkpoint-v5/000001.fbat', import.meta.url)));

/** Rust's sidecar prefix `magic[6] | u16le version | u32le crc32(body)`, then the body. */
function sidecar(magic: string, version: number, body: Uint8Array, crc = crc32(body)): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  out.set(new TextEncoder().encode(magic), 0);
  const dv = new DataView(out.buffer);
  dv.setUint16(6, version, true);
  dv.setUint32(8, crc, true);
  out.set(body, 12);
  return out;
}

const LINEAGE = cbin(Uint8Array.from({ length: 16 }, (_, i) => i + 1));
const metaBody = (fields: [string, CanonicalValue][] = [['lineage', LINEAGE], ['idemp_authority', cnil()], ['last_compaction_commit', cnil()]]) => encodeCanonical(cstruct(fields));

function open(extra: Record<string, Uint8Array>, options: Omit<OpenRustStoreOptions, 'fs'> = {}) {
  const fs = new SimFs(7);
  fs.putFile('/rust/000001.fbat', SEGMENT);
  for (const [name, bytes] of Object.entries(extra)) fs.putFile(`/rust/${name}`, bytes);
  return openRustStore('/rust', { fs, ...options });
}

describe('Rust sidecars Rust refuses to open past (INV-RUST-SIDECARS-REFUSED)', () => {
  it('INV-RUST-SIDECARS-REFUSED: a valid store.meta opens; a damaged one is ERR_CORRUPT_METADATA naming the file and why', async () => {
    expect((await open({ 'store.meta': sidecar('FBATSM', 1, metaBody()) })).stats().events).toBe(3n);

    const body = metaBody();
    const flipped = sidecar('FBATSM', 1, body);
    flipped[flipped.length - 1]! ^= 0x01;
    const cases: [Uint8Array, RegExp][] = [
      [flipped, /CRC mismatch/],
      [sidecar('FBATSM', 1, body).subarray(0, 10), /shorter than the 12-byte header/],
      [sidecar('FBATSX', 1, body), /bad magic/],
      [sidecar('FBATSM', 0, body), /unsupported version 0/],
      [sidecar('FBATSM', 1, metaBody([['lineage', LINEAGE], ['idemp_authority', cnil()]])), /body does not decode: .*last_compaction_commit/],
      [sidecar('FBATSM', 1, Uint8Array.of(0xc1)), /body does not decode/],
    ];
    for (const [bytes, why] of cases) {
      const err = await open({ 'store.meta': bytes }).then(() => undefined, (e: unknown) => e);
      expect(err, String(why)).toMatchObject({ code: 'ERR_CORRUPT_METADATA', details: { file: '/rust/store.meta' } });
      expect((err as { details: { reason: string } }).details.reason).toMatch(why);
    }
  });

  it('INV-RUST-SIDECARS-REFUSED: store.meta, index.ckpt or index.fbati of a newer format version is ERR_FUTURE_FORMAT_VERSION, before any CRC check', async () => {
    const garbage = Uint8Array.of(1, 2, 3);
    for (const [name, bytes, found, supported] of [
      ['store.meta', sidecar('FBATSM', 2, garbage, 0), 2, 1],
      ['index.ckpt', sidecar('FBATCK', 7, garbage, 0), 7, 6],
      ['index.fbati', sidecar('FBATIX', 6, garbage, 0), 6, 5],
    ] as const) {
      await expect(open({ [name]: bytes })).rejects.toMatchObject({ code: 'ERR_FUTURE_FORMAT_VERSION', details: { file: `/rust/${name}`, found, supported } });
    }
  });

  it('a damaged, short, foreign or older index.ckpt / index.fbati is ignored (Rust rebuilds it from the segments)', async () => {
    const garbage = Uint8Array.of(1, 2, 3);
    for (const extra of [
      { 'index.ckpt': sidecar('FBATCK', 6, garbage, 0) },
      { 'index.ckpt': sidecar('FBATCK', 5, garbage) },
      { 'index.fbati': sidecar('FBATIX', 5, garbage, 0) },
      { 'index.fbati': Uint8Array.of(0x46, 0x42) },
      { 'index.ckpt': sidecar('XXXXXX', 9, garbage) },
    ]) {
      const store = await open(extra);
      expect(store.stats().events).toBe(3n);
      expect(store.warnings).toEqual([]);
    }
  });

  it("sidecars: 'warn' opens anyway and lists every problem in warnings; any other value is ERR_INVALID_OPTION", async () => {
    const store = await open({ 'store.meta': sidecar('FBATSM', 1, metaBody(), 0), 'index.fbati': sidecar('FBATIX', 9, Uint8Array.of(0)) }, { sidecars: 'warn' });
    expect(store.stats().events).toBe(3n);
    expect(store.warnings).toEqual([
      expect.stringMatching(/store\.meta is corrupt: CRC mismatch .*opened anyway/),
      expect.stringMatching(/index\.fbati is format version 9 .*opened anyway/),
    ]);
    await expect(open({}, { sidecars: 'ignore' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_OPTION' });
  });
});
