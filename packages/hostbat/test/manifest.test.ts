// Manifests as JSON a person can read and diff: deterministic, canonical order, hex digests, and a change shows as a small diff.
import { describe, expect, it } from 'vitest';
import { HostBuilder } from '../src/index.js';
import { auditModule, ordersModule } from './helpers/fixtures.js';

const pretty = (v: unknown) => JSON.stringify(v, null, 2);

function changedLines(a: string, b: string): string[] {
  const x = a.split('\n');
  const y = b.split('\n');
  expect(y).toHaveLength(x.length);
  return x.flatMap((line, i) => (line === y[i] ? [] : [line.trim().split(':')[0]!]));
}

describe('HostModuleManifest / HostCompositionManifest JSON', () => {
  it('is deterministic: two builds of the same host print identical JSON, modules sorted by id', () => {
    const a = new HostBuilder().mount(ordersModule()).mount(auditModule()).build().manifest();
    const b = new HostBuilder().mount(ordersModule({ reversed: true })).mount(auditModule({ reversed: true })).build().manifest();
    expect(pretty(b)).toBe(pretty(a));
    expect(a.modules.map((m) => m.id)).toEqual(['audit', 'orders']);
    expect(JSON.parse(pretty(a))).toEqual(a);
  });

  it('carries the identities and every declaration in canonical order', () => {
    const host = new HostBuilder().mount(ordersModule()).mount(auditModule()).build();
    const json = host.manifest();
    expect(json.fingerprint).toBe(host.fingerprint().toHex());
    expect(json.interfaceFingerprint).toBe(host.interfaceFingerprint().toHex());
    const orders = json.modules.find((m) => m.id === 'orders')!;
    expect(orders).toMatchObject({
      version: 1,
      receiptNamespaces: ['orders'],
      guard: { code: 'orders.admission.v1' },
      hooks: [
        { phase: 'startup', name: 'warm-cache', order: 10 },
        { phase: 'shutdown', name: 'flush', order: 0 },
      ],
      jobs: [{ kind: 'orders.reindex' }],
      eventPayloadBindings: [{ kind: '0xf001', payloadSchemaRef: 'orders.placed' }],
    });
    expect(orders.operations.map((o) => o.name)).toEqual(['orders.get', 'orders.place']);
    expect(orders.operations[1]).toMatchObject({ title: 'Place order', effect: 'persist', effectRow: { appendsEvents: ['evt.f001'] } });
    expect(orders.schemas.map((s) => `${s.id}/${s.role}`)).toEqual([
      'orders.get.in/operation-input',
      'orders.get.out/operation-output',
      'orders.get.receipt/receipt-payload',
      'orders.place.in/operation-input',
      'orders.place.out/operation-output',
      'orders.place.receipt/receipt-payload',
      'orders.placed/event-payload',
    ]);
    expect(json.composition.digest).toBe(host.compositionSchemas().digest.toHex());
    expect(json.composition.schemas.find((s) => s.id === 'orders.placed')?.ownerModule).toBe('orders');
    expect(host.modules().every((m) => m.verifyHash())).toBe(true);
    expect(host.compositionSchemas().verifyDigest()).toBe(true);
  });

  it('a changed schema shows up as a few changed lines: its bytes, its encoding, and the digests above it', () => {
    const before = pretty(new HostBuilder().mount(ordersModule()).mount(auditModule()).build().manifest());
    const after = pretty(new HostBuilder().mount(ordersModule({ placeInGolden: 'a different example' })).mount(auditModule()).build().manifest());
    // The one golden vector, its schema encoding (twice: module and composition), H_module, H_host, H_interface, composition digest.
    expect(changedLines(before, after).sort()).toEqual(['"bytes"', '"bytes"', '"digest"', '"digest"', '"encoding"', '"encoding"', '"fingerprint"', '"interfaceFingerprint"']);
  });
});
