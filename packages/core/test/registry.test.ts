// INV-REGISTRY-FAIL-FAST and INV-UPCAST-COMPLETE: wiring bugs refuse Store.open by default.
import { describe, expect, it } from 'vitest';
import { BatpakError, Coordinate, defineEvent, EventRegistry, Store } from '../src/index.js';
import { SimFs } from '../src/entry/testing.js';

const coord = new Coordinate('order:1', 'shop');

describe('EventRegistry', () => {
  it('INV-REGISTRY-FAIL-FAST: two definitions claiming one kind refuse to open (fail-fast default)', async () => {
    const A = defineEvent<{ a: number }>({ category: 1, typeId: 7, name: 'A' });
    const B = defineEvent<{ b: number }>({ category: 1, typeId: 7, name: 'B' });
    const registry = new EventRegistry([A, B]);
    expect(() => registry.verify()).toThrow(expect.objectContaining({ code: 'ERR_KIND_COLLISION' }));
    expect(registry.problems()[0]?.message).toMatch(/A and B/);
    const fs = new SimFs(1);
    await expect(Store.open({ dir: '/s', fs, registry })).rejects.toMatchObject({ code: 'ERR_KIND_COLLISION' });
    expect(fs.listFiles()).toEqual([]);
    const warnings: string[] = [];
    const warned = await Store.open({ dir: '/s', fs, registry, payloadValidation: 'warn', onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    await warned.close();
    const silent = await Store.open({ dir: '/s', fs, registry, payloadValidation: 'silent', onWarning: (w) => warnings.push(w) });
    expect(warnings).toHaveLength(1);
    await silent.close();
  });

  it('the same definition listed twice is not a collision', () => {
    const A = defineEvent<{ a: number }>({ category: 1, typeId: 7 });
    expect(() => new EventRegistry([A, A]).verify()).not.toThrow();
  });

  it('INV-UPCAST-COMPLETE: a version-N definition missing a hop refuses to open', async () => {
    const V3 = defineEvent<{ total: number }>({ category: 2, typeId: 1, version: 3, upcasters: { 1: (x) => x }, name: 'Order' });
    const registry = new EventRegistry([V3]);
    expect(() => registry.verify()).toThrow(expect.objectContaining({ code: 'ERR_UPCAST_CHAIN_INCOMPLETE' }));
    expect(registry.problems()[0]?.message).toMatch(/version 2/);
    await expect(Store.open({ dir: '/s', fs: new SimFs(2), registry })).rejects.toMatchObject({ code: 'ERR_UPCAST_CHAIN_INCOMPLETE' });
  });

  it('old payloads are upcast on read; stored bytes never change; a future version is refused', async () => {
    const fs = new SimFs(3);
    const V1 = defineEvent<{ count: number }>({ category: 0xe, typeId: 0xc02, version: 1, name: 'Sample' });
    const s1 = await Store.open({ dir: '/s', fs, registry: new EventRegistry([V1]) });
    const r = await s1.append(coord, V1, { count: 7 });
    const rawBefore = (await s1.getRaw(r.eventId)).bytes;
    await s1.close();

    const V2 = defineEvent<{ total: number; label: string }>({
      category: 0xe,
      typeId: 0xc02,
      version: 2,
      name: 'Sample',
      upcasters: { 1: (v1) => ({ total: (v1 as { count: number }).count, label: 'legacy' }) },
    });
    const s2 = await Store.open({ dir: '/s', fs, registry: new EventRegistry([V2]) });
    const ev = await s2.get(r.eventId);
    expect(ev.payload).toEqual({ total: 7, label: 'legacy' });
    expect(ev.header.payloadVersion).toBe(1);
    expect((await s2.getRaw(r.eventId)).bytes).toEqual(rawBefore);
    const r2 = await s2.append(coord, V2, { total: 1, label: 'new' });
    await s2.close();

    const s3 = await Store.open({ dir: '/s', fs, registry: new EventRegistry([V1]) });
    await expect(s3.get(r2.eventId)).rejects.toMatchObject({ code: 'ERR_FUTURE_PAYLOAD_VERSION' });
    expect((await s3.get(r.eventId)).payload).toEqual({ count: 7 });
    await s3.close();
  });

  it('defineEvent validates its input', () => {
    expect(() => defineEvent({ category: 0xd, typeId: 1 })).toThrow(BatpakError);
    expect(() => defineEvent({ category: 1, typeId: 1, version: 0 })).toThrow(BatpakError);
    expect(() => defineEvent({ category: 1, typeId: 0x1000 })).toThrow(BatpakError);
  });
});

describe('chainVerification at open', () => {
  it("INV-CHAIN-AT-OPEN, INV-READ-NOT-TRUSTING: 'recompute' refuses to open a store whose chain no longer verifies; 'crc' trusts frame CRCs", async () => {
    const fs = new SimFs(4);
    const E = defineEvent<{ v: string }>({ category: 1, typeId: 1 });
    const s = await Store.open({ dir: '/s', fs });
    await s.append(coord, E, { v: 'first' });
    const last = await s.append(coord, E, { v: 'second' });
    await s.close();
    // Rewrite the last event's payload with a fresh frame CRC but the old content hash: only a
    // recomputation can notice.
    const path = '/s/000001.bps';
    const info = fs.inspect(path)!;
    const bytes = Buffer.from(info.current);
    const at = bytes.indexOf(Buffer.from('second'));
    bytes.write('SECOND', at, 'latin1');
    let pos = 32;
    const { crc32 } = await import('node:zlib');
    while (pos < bytes.length) {
      const len = bytes.readUInt32BE(pos + 4);
      if (at > pos && at < pos + 12 + len) bytes.writeUInt32BE(crc32(bytes.subarray(pos + 12, pos + 12 + len)), pos + 8);
      pos += 12 + len;
    }
    fs.putFile(path, new Uint8Array(bytes));
    const trusting = await Store.open({ dir: '/s', fs });
    expect(((await trusting.get(last.eventId)).payload as { v: string }).v).toBe('SECOND');
    const report = await trusting.verifyChain();
    expect(report.contentHashMismatches).toEqual([last.eventId]);
    await trusting.close();
    await expect(Store.open({ dir: '/s', fs, chainVerification: 'recompute' })).rejects.toMatchObject({ code: 'ERR_CHAIN_VERIFICATION_FAILED' });
    // The refused open released its lock.
    const again = await Store.open({ dir: '/s', fs });
    await again.close();
  });
});
