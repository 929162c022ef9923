// What moves which fingerprint (Rust composition_interface_tests, schema_tests): identity axes, and the fidelity quirks kept on purpose.
// INV-HOSTBAT-FINGERPRINT-STABLE: a digest moves exactly when a declaration it covers changes.
// INV-HOSTBAT-AUTHORITY-FINGERPRINT: a change of authority (effect row, required capability, grant) moves the fingerprints.
import { defineOperation, type DefineOperationInit } from '@batpak/syncbat';
import { describe, expect, it } from 'vitest';
import { HostBuilder, HostModule, SchemaDescriptor, type HostModuleBuilder } from '../src/index.js';
import { mp, opSchemas } from './helpers/fixtures.js';

interface Variant {
  readonly op?: Partial<DefineOperationInit>;
  readonly version?: number;
  readonly extra?: (b: HostModuleBuilder) => HostModuleBuilder;
}

function variant(v: Variant = {}) {
  const op = defineOperation({
    name: 'shop.put',
    effectClass: 'persist',
    effects: { appends: [{ category: 0xf, typeId: 1 }] },
    inputSchemaRef: 'shop.put.in',
    outputSchemaRef: 'shop.put.out',
    receiptKind: 'shop.put.receipt',
    handler: (i) => i,
    ...v.op,
  });
  let b = HostModule.builder('shop', v.version ?? 1).operation(op);
  for (const s of opSchemas(op)) b = b.schema(s);
  const module = (v.extra ?? ((x) => x))(b).build();
  const host = new HostBuilder().mount(module).build();
  return { module: module.manifest.digest.toHex(), host: host.fingerprint().toHex(), iface: host.interfaceFingerprint().toHex() };
}

const base = variant();

describe('INV-HOSTBAT-FINGERPRINT-STABLE: axes of H_module and H_interface', () => {
  it('building the same module twice gives the same three digests', () => {
    expect(variant()).toEqual(base);
  });

  it.each([
    ['a startup hook', (b: HostModuleBuilder) => b.hook('startup', 'warm', 1, () => undefined)],
    ['a guard code', (b: HostModuleBuilder) => b.guard('shop.guard.v1', () => ({ admit: true }))],
    ['a receipt namespace', (b: HostModuleBuilder) => b.receiptNamespace('shop')],
    ['a job kind', (b: HostModuleBuilder) => b.job('shop.sweep', () => undefined)],
  ])('%s moves H_module and H_host but not H_interface', (_what, extra) => {
    const v = variant({ extra });
    expect(v.module).not.toBe(base.module);
    expect(v.host).not.toBe(base.host);
    expect(v.iface).toBe(base.iface);
  });

  it('the module version and an operation title move H_module only', () => {
    for (const v of [variant({ version: 2 }), variant({ op: { title: 'Put' } })]) {
      expect(v.module).not.toBe(base.module);
      expect(v.iface).toBe(base.iface);
    }
  });

  it('an exported event-payload schema or a subscription moves H_interface too', () => {
    const withEvent = variant({ extra: (b) => b.schema({ id: 'shop.evt', version: 1, role: 'event-payload' }) });
    expect(withEvent.iface).not.toBe(base.iface);
    const withSub = variant({
      extra: (b) =>
        b.schema({ id: 'shop.evt', version: 1, role: 'event-payload' }).subscription({
          id: 'shop.events.v1',
          source: { kind: 'event-category', category: 0xf },
          payloadSchemaRef: 'shop.evt',
          backpressure: { kind: 'bounded-queue', capacity: 8 },
        }),
    });
    expect(withSub.iface).not.toBe(withEvent.iface);
    expect(withSub.module).not.toBe(withEvent.module);
    const withBinding = variant({ extra: (b) => b.schema({ id: 'shop.evt', version: 1, role: 'event-payload' }).bindEventPayload(0xf001, 'shop.evt') });
    expect(withBinding.iface).not.toBe(withEvent.iface);
  });

  it('a renamed schema ref moves H_module and H_interface', () => {
    const v = variant({ op: { inputSchemaRef: 'shop.put.in2' } });
    expect(v.module).not.toBe(base.module);
    expect(v.iface).not.toBe(base.iface);
  });
});

describe('INV-HOSTBAT-AUTHORITY-FINGERPRINT: authority is identity (issue 26; Rust leaves effect rows out)', () => {
  it.each([
    ['an added append', { effects: { appends: [{ category: 0xf, typeId: 1 }, { category: 0xf, typeId: 2 }] } }],
    ['an added read', { effects: { appends: [{ category: 0xf, typeId: 1 }], reads: ['shop.stock'] } }],
    ['an added projection query', { effects: { appends: [{ category: 0xf, typeId: 1 }], queries: ['shop.totals'] } }],
    ['an added required capability (granted or not)', { requiresCapabilities: ['payments.write'] }],
  ] as const)('%s moves H_module, H_host and H_interface', (_what, op) => {
    const v = variant({ op: op as Partial<DefineOperationInit> });
    expect(v.module).not.toBe(base.module);
    expect(v.host).not.toBe(base.host);
    expect(v.iface).not.toBe(base.iface);
  });

  it('an added host control moves all three (a control-class operation with and without a second control)', () => {
    const one = variant({ op: { effectClass: 'control', effects: { hostControls: ['ctrl.alpha'] } } });
    const two = variant({ op: { effectClass: 'control', effects: { hostControls: ['ctrl.alpha', 'ctrl.rotate-keys'] } } });
    expect(two.module).not.toBe(one.module);
    expect(two.host).not.toBe(one.host);
    expect(two.iface).not.toBe(one.iface);
  });

  it('a capability grant moves H_host only, and grants are per module', () => {
    const op = defineOperation({
      name: 'shop.put',
      effectClass: 'inspect',
      requiresCapabilities: ['shop.write'],
      inputSchemaRef: 'shop.put.in',
      outputSchemaRef: 'shop.put.out',
      receiptKind: 'shop.put.receipt',
      handler: (i) => i,
    });
    const module = opSchemas(op).reduce((b, s) => b.schema(s), HostModule.builder('shop', 1).operation(op)).build();
    const bare = new HostBuilder().mount(module).build();
    const granted = new HostBuilder().grantCapability('shop.write', { module: 'shop' }).mount(module).build();
    expect(granted.fingerprint().toHex()).not.toBe(bare.fingerprint().toHex());
    expect(granted.interfaceFingerprint().toHex()).toBe(bare.interfaceFingerprint().toHex());
    // Granting twice, or in another call order, is the same authority.
    const again = new HostBuilder().mount(module).grantCapabilities(['shop.write', 'shop.write'], { module: 'shop' }).build();
    expect(again.fingerprint().toHex()).toBe(granted.fingerprint().toHex());
  });
});

describe('schema identity', () => {
  const golden = [{ case: 'one', bytes: mp('1') }];

  it('the diagnostic type is informational: it changes no encoding', () => {
    const a = new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden });
    const b = new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden, diagnosticType: 'OrderPlaced' });
    expect(b.encoding.toHex()).toBe(a.encoding.toHex());
  });

  it('id, version, role and every golden byte are identity', () => {
    const a = new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden });
    const others = [
      new SchemaDescriptor({ id: 't', version: 1, role: 'event-payload', golden }),
      new SchemaDescriptor({ id: 's', version: 2, role: 'event-payload', golden }),
      new SchemaDescriptor({ id: 's', version: 1, role: 'receipt-payload', golden }),
      new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden: [{ case: 'one', bytes: mp('2') }] }),
      new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden: [{ case: 'uno', bytes: mp('1') }] }),
    ];
    for (const o of others) expect(o.encoding.toHex()).not.toBe(a.encoding.toHex());
    expect(a.verifyEncoding()).toBe(true);
  });

  it('golden vectors are sorted by case (byte-wise), so declaration order is not identity', () => {
    const v = [
      { case: 'b', bytes: mp('b') },
      { case: 'a', bytes: mp('a') },
      { case: 'B', bytes: mp('B') },
    ];
    const a = new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden: v });
    const b = new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden: [...v].reverse() });
    expect(b.encoding.toHex()).toBe(a.encoding.toHex());
    expect(a.golden.map((g) => g.case)).toEqual(['B', 'a', 'b']);
  });
});
