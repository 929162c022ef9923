// Golden fingerprints (fixtures/hostbat/fingerprints.json) and hand derivations of the canonical views behind them.
// INV-HOSTBAT-FINGERPRINT-STABLE: the same declarations give the same bytes and digests, release after release.
// INV-HOSTBAT-AUTHORITY-FINGERPRINT: the views carry each operation's effect_row and each module's granted_capabilities (issue 26).
import { readFileSync } from 'node:fs';
import { fromHex } from '@batpak/core';
import { defineOperation } from '@batpak/syncbat';
import { describe, expect, it } from 'vitest';
import { HostBuilder, HostModule, SchemaDescriptor } from '../src/index.js';
import { auditModule, ordersModule } from './helpers/fixtures.js';
import { NIL, arr, byteArray, digestOf, hex, schemaIdentity, schemaView, str, struct, uint, type Bytes } from './helpers/naive-msgpack.js';

interface Pinned {
  readonly canonical: string;
  readonly digest: string;
}
const GOLDEN = JSON.parse(readFileSync(new URL('../../../fixtures/hostbat/fingerprints.json', import.meta.url), 'utf8')) as {
  readonly schemaEncoding: Pinned;
  readonly minimalModule: Pinned;
  readonly minimalHost: Pinned;
  readonly minimalInterface: Pinned;
  readonly reference: {
    readonly modules: { readonly orders: string; readonly audit: string };
    readonly host: string;
    readonly interface: string;
    readonly composition: { readonly ordersFirst: string; readonly auditFirst: string };
  };
  readonly referenceWithChangedSchema: { readonly modules: { readonly orders: string }; readonly host: string; readonly interface: string };
};

describe('hand-derived canonical views (INV-HOSTBAT-FINGERPRINT-STABLE)', () => {
  it('a schema encoding is BLAKE3 of {domain, id, version, role, golden[{case, bytes as int array}]}, golden sorted by case', () => {
    const golden: [string, Uint8Array][] = [
      ['a-first', Uint8Array.of(0x01, 0xff)],
      ['b-second', Uint8Array.of(0x90)],
    ];
    const bytes = schemaView('a', 1, 'event-payload', golden);
    // Declared out of order: the descriptor sorts by case before hashing.
    const s = new SchemaDescriptor({ id: 'a', version: 1, role: 'event-payload', golden: [...golden].reverse().map(([c, b]) => ({ case: c, bytes: b })) });
    expect(hex(bytes)).toBe(GOLDEN.schemaEncoding.canonical);
    expect(digestOf(bytes)).toBe(GOLDEN.schemaEncoding.digest);
    expect(s.encoding.toHex()).toBe(GOLDEN.schemaEncoding.digest);
    // `cc ff`: a byte >= 0x80 inside a Vec<u8> is a u8 int, not raw.
    expect(GOLDEN.schemaEncoding.canonical).toContain('a5627974657392' + '01ccff');
  });

  it('H_module of a hook-only module: eleven fields, guard nil, no operations', () => {
    const module = HostModule.builder('m', 1).hook('startup', 'h', 0, () => undefined).build();
    const bytes = struct([
      ['domain', str('hostbat.module.v2')],
      ['id', str('m')],
      ['version', uint(1)],
      ['operations', arr([])],
      ['receipt_namespaces', arr([])],
      ['guard', NIL],
      ['hooks', arr([struct([['phase', str('startup')], ['name', str('h')], ['order', uint(0)]])])],
      ['jobs', arr([])],
      ['schemas', arr([])],
      ['subscriptions', arr([])],
      ['event_payload_bindings', arr([])],
    ]);
    expect(hex(bytes)).toBe(GOLDEN.minimalModule.canonical);
    expect(digestOf(bytes)).toBe(GOLDEN.minimalModule.digest);
    expect(module.manifest.digest.toHex()).toBe(GOLDEN.minimalModule.digest);

    // H_host over that one module: {domain, modules: [{module_id, module_digest as 32 ints, granted_capabilities}]}.
    const hostBytes = struct([
      ['domain', str('hostbat.host.v2')],
      [
        'modules',
        arr([
          struct([
            ['module_id', str('m')],
            ['module_digest', byteArray(fromHex(GOLDEN.minimalModule.digest))],
            ['granted_capabilities', arr([])],
          ]),
        ]),
      ],
    ]);
    expect(hex(hostBytes)).toBe(GOLDEN.minimalHost.canonical);
    expect(digestOf(hostBytes)).toBe(GOLDEN.minimalHost.digest);
    expect(new HostBuilder().mount(module).build().fingerprint().toHex()).toBe(GOLDEN.minimalHost.digest);
  });

  it('H_interface of a one-operation host: the operation with its three resolved schemas and its (empty) effect row', () => {
    const echo = defineOperation({
      name: 'echo',
      effectClass: 'compute',
      inputSchemaRef: 'echo.in',
      outputSchemaRef: 'echo.out',
      receiptKind: 'echo.receipt',
      handler: (i) => i,
    });
    const roles = [
      ['echo.in', 'operation-input'],
      ['echo.out', 'operation-output'],
      ['echo.receipt', 'receipt-payload'],
    ] as const;
    let b = HostModule.builder('echo', 7).operation(echo).hook('startup', 'ignored-by-interface', 3, () => undefined);
    for (const [id, role] of roles) b = b.schema({ id, version: 1, role });
    const host = new HostBuilder().mount(b.build()).build();

    const encodings = Object.fromEntries(roles.map(([id, role]) => [id, digestOf(schemaView(id, 1, role, []))]));
    const bytes = struct([
      ['domain', str('hostbat.interface.v6')],
      ['view_schema_version', uint(6)],
      ['wire_protocol_version', str('NETBAT/1')],
      ['wire_encoding_version', str('named-field-msgpack:v1')],
      ['subscription_wire_requires', str('NETBAT/2-streaming')],
      [
        'operations',
        arr([
          struct([
            ['module_id', str('echo')],
            ['name', str('echo')],
            ['input_schema', schemaIdentity('echo.in', 'operation-input', encodings['echo.in']!)],
            ['output_schema', schemaIdentity('echo.out', 'operation-output', encodings['echo.out']!)],
            ['receipt_kind', str('echo.receipt')],
            ['receipt_schema', schemaIdentity('echo.receipt', 'receipt-payload', encodings['echo.receipt']!)],
            [
              'effect_row',
              struct(
                ['reads_events', 'appends_events', 'queries_projections', 'emits_receipts', 'uses_host_controls', 'requires_capabilities'].map(
                  (list) => [list, arr([])] as [string, Bytes],
                ),
              ),
            ],
          ]),
        ]),
      ],
      ['subscriptions', arr([])],
      ['event_payload_bindings', arr([])],
      ['exported_event_payloads', arr([])],
    ]);
    expect(hex(bytes)).toBe(GOLDEN.minimalInterface.canonical);
    expect(digestOf(bytes)).toBe(GOLDEN.minimalInterface.digest);
    expect(host.interfaceFingerprint().toHex()).toBe(GOLDEN.minimalInterface.digest);
  });
});

describe('pinned fingerprints of the reference host (INV-HOSTBAT-FINGERPRINT-STABLE)', () => {
  it('H_module, H_host, H_interface and the composition digest match the fixture', () => {
    const orders = ordersModule();
    const audit = auditModule();
    const host = new HostBuilder().mount(orders).mount(audit).build();
    expect(orders.manifest.digest.toHex()).toBe(GOLDEN.reference.modules.orders);
    expect(audit.manifest.digest.toHex()).toBe(GOLDEN.reference.modules.audit);
    expect(host.fingerprint().toHex()).toBe(GOLDEN.reference.host);
    expect(host.interfaceFingerprint().toHex()).toBe(GOLDEN.reference.interface);
    expect(host.compositionSchemas().digest.toHex()).toBe(GOLDEN.reference.composition.ordersFirst);
  });

  it('H_host from the pinned module digests, by hand: sorted by module id, not mount order', () => {
    const bytes = struct([
      ['domain', str('hostbat.host.v2')],
      [
        'modules',
        arr([
          struct([['module_id', str('audit')], ['module_digest', byteArray(fromHex(GOLDEN.reference.modules.audit))], ['granted_capabilities', arr([])]]),
          struct([['module_id', str('orders')], ['module_digest', byteArray(fromHex(GOLDEN.reference.modules.orders))], ['granted_capabilities', arr([])]]),
        ]),
      ],
    ]);
    expect(digestOf(bytes)).toBe(GOLDEN.reference.host);
  });

  it('the composition digest keeps the FIRST-mounted owner of a shared schema (Rust fidelity quirk §10.5)', () => {
    const auditFirst = new HostBuilder().mount(auditModule()).mount(ordersModule()).build();
    expect(auditFirst.compositionSchemas().digest.toHex()).toBe(GOLDEN.reference.composition.auditFirst);
    expect(GOLDEN.reference.composition.auditFirst).not.toBe(GOLDEN.reference.composition.ordersFirst);
    expect(auditFirst.compositionSchemas().find('orders.placed', 1, 'event-payload')?.ownerModule).toBe('audit');
    // …while H_host and H_interface do not care.
    expect(auditFirst.fingerprint().toHex()).toBe(GOLDEN.reference.host);
    expect(auditFirst.interfaceFingerprint().toHex()).toBe(GOLDEN.reference.interface);
  });

  it('changing one golden vector of one schema moves H_module, H_host and H_interface to their pinned values', () => {
    const orders = ordersModule({ placeInGolden: 'a different example' });
    const host = new HostBuilder().mount(orders).mount(auditModule()).build();
    expect(orders.manifest.digest.toHex()).toBe(GOLDEN.referenceWithChangedSchema.modules.orders);
    expect(host.fingerprint().toHex()).toBe(GOLDEN.referenceWithChangedSchema.host);
    expect(host.interfaceFingerprint().toHex()).toBe(GOLDEN.referenceWithChangedSchema.interface);
    expect(GOLDEN.referenceWithChangedSchema.host).not.toBe(GOLDEN.reference.host);
    expect(GOLDEN.referenceWithChangedSchema.interface).not.toBe(GOLDEN.reference.interface);
  });
});
