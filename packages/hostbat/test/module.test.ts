// HostModuleBuilder coherence (Rust module.rs, schema_tests, subscription_tests, event_payload_binding_tests): every refusal and its code.
import { defineOperation, operationDescriptor, EffectRow } from '@batpak/syncbat';
import { describe, expect, it } from 'vitest';
import { HOST_ERROR_CODES, HostError, HostModule, SchemaDescriptor, subscriptionDescriptor } from '../src/index.js';
import { mp, thrownBy } from './helpers/fixtures.js';

const noop = () => undefined;
const echo = defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i });

function refusal(fn: () => unknown): HostError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(HostError);
  return err as HostError;
}

describe('HostModuleBuilder', () => {
  it('module ids are lowercase [a-z0-9._-], ≤ 128 bytes, with no leading, trailing or doubled dot', () => {
    const cases: [string, string][] = [
      ['', 'invalid module id: empty'],
      ['a'.repeat(129), 'invalid module id: longer than 128 bytes'],
      ['.a', "invalid module id: leading or trailing '.'"],
      ['a.', "invalid module id: leading or trailing '.'"],
      ['a..b', "invalid module id: doubled '.'"],
      ['Orders', 'invalid module id: characters outside [a-z0-9._-]'],
    ];
    for (const [id, detail] of cases) {
      const err = refusal(() => HostModule.builder(id, 1).hook('startup', 'h', 0, noop).build());
      expect(err.code).toBe('ERR_MODULE_COHERENCE');
      expect(err.detail).toEqual({ kind: 'module_coherence', module: id, detail });
    }
    expect(HostModule.builder('a'.repeat(128), 1).hook('startup', 'h', 0, noop).build().id).toHaveLength(128);
  });

  it('a module that declares nothing is refused', () => {
    const err = refusal(() => HostModule.builder('empty', 1).build());
    expect(err.message).toBe('module "empty" is incoherent: module declares no operations, hooks, jobs, guard, schemas, subscriptions, or event payload bindings');
    expect(HostModule.builder('schemas-only', 1).schema({ id: 's', version: 1, role: 'event-payload' }).build().manifest.schemas).toHaveLength(1);
  });

  it('an invalid descriptor or a repeated operation is a coherence error naming the module', () => {
    const bad = operationDescriptor({ name: 'bad..name', effect: 'compute', inputSchemaRef: 'i', outputSchemaRef: 'o', receiptKind: 'r' });
    expect(refusal(() => HostModule.builder('m', 1).operation(bad, (i) => i)).message).toBe(
      'module "m" is incoherent: name `bad..name` is invalid: dot-separated tokens must be non-empty',
    );
    const classBreak = operationDescriptor({
      name: 'p',
      effect: 'persist',
      inputSchemaRef: 'i',
      outputSchemaRef: 'o',
      receiptKind: 'r',
      effectRow: EffectRow.empty(),
    });
    expect(refusal(() => HostModule.builder('m', 1).operation(classBreak, (i) => i)).code).toBe('ERR_MODULE_COHERENCE');
    expect(refusal(() => HostModule.builder('m', 1).operation(echo).operation(echo)).message).toBe('module "m" is incoherent: operation "echo" is declared twice');
  });

  it('one guard per module; namespaces and job kinds once each', () => {
    const guard = () => ({ admit: true }) as const;
    expect(refusal(() => HostModule.builder('m', 1).guard('g1', guard).guard('g2', guard)).message).toBe(
      'module "m" is incoherent: a module mounts at most one guard',
    );
    expect(refusal(() => HostModule.builder('m', 1).receiptNamespace('ns').receiptNamespace('ns')).code).toBe('ERR_MODULE_COHERENCE');
    expect(refusal(() => HostModule.builder('m', 1).job('j', noop).job('j', noop)).message).toBe(
      'module "m" is incoherent: supervised-job kind "j" is declared twice',
    );
  });

  it('hooks sort by (phase, order, name); two hooks of one phase may not share an order', () => {
    const m = HostModule.builder('m', 1)
      .hook('shutdown', 'z', 0, noop)
      .hook('startup', 'b', 5, noop)
      .hook('startup', 'a', 1, noop)
      .hook('shutdown', 'y', 1, noop)
      .build();
    expect(m.manifest.hooks.map((h) => `${h.phase}:${h.order}:${h.name}`)).toEqual(['startup:1:a', 'startup:5:b', 'shutdown:0:z', 'shutdown:1:y']);
    const err = refusal(() => HostModule.builder('m', 1).hook('startup', 'a', 3, noop).hook('startup', 'b', 3, noop).build());
    expect(err.message).toBe('module "m" is incoherent: two startup hooks share order 3 (ambiguous ordering)');
    // The same order in different phases is fine.
    expect(HostModule.builder('m', 1).hook('startup', 'a', 3, noop).hook('shutdown', 'b', 3, noop).build().manifest.hooks).toHaveLength(2);
  });

  it('schemas: id grammar, duplicate golden cases, and one (id, version, role) per module', () => {
    expect(refusal(() => new SchemaDescriptor({ id: 'Upper', version: 1, role: 'event-payload' })).detail).toEqual({
      kind: 'schema_invalid',
      schema: 'Upper',
      detail: 'schema id has characters outside [a-z0-9._-]',
    });
    expect(
      refusal(() => new SchemaDescriptor({ id: 's', version: 1, role: 'event-payload', golden: [{ case: 'x', bytes: mp('1') }, { case: 'x', bytes: mp('2') }] })).message,
    ).toBe('schema "s" is invalid: golden vector case "x" is declared twice');
    const err = refusal(() => HostModule.builder('m', 1).schema({ id: 's', version: 1, role: 'event-payload' }).schema({ id: 's', version: 1, role: 'event-payload' }));
    expect(err.code).toBe('ERR_SCHEMA_INVALID');
    // Another version or role of the same id is a different schema.
    HostModule.builder('m', 1)
      .schema({ id: 's', version: 1, role: 'event-payload' })
      .schema({ id: 's', version: 2, role: 'event-payload' })
      .schema({ id: 's', version: 1, role: 'receipt-payload' })
      .build();
  });

  it('subscriptions: id grammar, reserved categories, projection ids, one id per module', () => {
    const bp = { kind: 'bounded-queue', capacity: 4 } as const;
    const sub = (id: string, category = 1) => ({ id, source: { kind: 'event-category', category } as const, payloadSchemaRef: 'e', backpressure: bp });
    expect(refusal(() => subscriptionDescriptor(sub('orders'))).detail).toEqual({
      kind: 'subscription_invalid_id',
      id: 'orders',
      detail: 'subscription id must contain a .v version suffix',
    });
    for (const category of [0, 0xd, 16]) expect(refusal(() => subscriptionDescriptor(sub('x.v1', category))).code).toBe('ERR_SUBSCRIPTION_RESERVED_CATEGORY');
    expect(
      refusal(() => subscriptionDescriptor({ id: 'p.v1', source: { kind: 'projection', projectionId: 'Bad' }, payloadSchemaRef: 's', backpressure: bp })).code,
    ).toBe('ERR_SUBSCRIPTION_INVALID_PROJECTION_ID');
    expect(refusal(() => HostModule.builder('m', 1).subscription(sub('x.v1')).subscription(sub('x.v1', 2))).code).toBe(
      'ERR_SUBSCRIPTION_DUPLICATE_WITHIN_MODULE',
    );
  });

  it('event-payload bindings: a non-empty ref, one binding per kind', () => {
    expect(refusal(() => HostModule.builder('m', 1).bindEventPayload({ category: 0xf, typeId: 1 }, '')).message).toBe(
      'event payload binding for kind 0xf001 is invalid: payload schema reference is empty',
    );
    expect(refusal(() => HostModule.builder('m', 1).bindEventPayload(0xf001, 'a').bindEventPayload({ category: 0xf, typeId: 1 }, 'b')).code).toBe(
      'ERR_EVENT_PAYLOAD_BINDING_DUPLICATE_WITHIN_MODULE',
    );
  });

  it('every code is ERR_ + the detail kind, and the table is complete', () => {
    expect(HOST_ERROR_CODES).toHaveLength(31);
    expect(new Set(HOST_ERROR_CODES).size).toBe(31);
    expect(new HostError({ kind: 'empty_host' }).code).toBe('ERR_EMPTY_HOST');
  });
});
