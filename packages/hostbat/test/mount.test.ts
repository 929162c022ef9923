// HostBuilder.mount and build(): cross-module refusals in Rust's order, atomic mounts, and schema references that must resolve.
import { defineOperation, type Operation } from '@batpak/syncbat';
import { describe, expect, it } from 'vitest';
import { Digest, HostBuilder, HostError, HostModule, type HostModuleBuilder } from '../src/index.js';
import { manifestWithDigest } from '../src/manifest.js';
import { moduleWithManifest } from '../src/module.js';
import { opSchemas, schema, thrownBy } from './helpers/fixtures.js';

const noop = () => undefined;
const op = (name: string, appends = 1): Operation =>
  defineOperation({ name, effectClass: 'persist', effects: { appends: [{ category: 0xf, typeId: appends }] }, handler: (i) => i });

function mod(id: string, fill: (b: HostModuleBuilder) => HostModuleBuilder): HostModule {
  return fill(HostModule.builder(id, 1)).build();
}

function withOp(o: Operation) {
  return (b: HostModuleBuilder) => opSchemas(o).reduce((acc, s) => acc.schema(s), b.operation(o));
}

function refusal(fn: () => unknown): HostError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(HostError);
  return err as HostError;
}

describe('HostBuilder.mount', () => {
  it('refuses a module whose manifest does not match its parts (tamper detection)', () => {
    const real = mod('a', withOp(op('a.put')));
    const forged = moduleWithManifest(real, manifestWithDigest(real.manifest, new Digest(new Uint8Array(32).fill(0xee))));
    expect(forged.manifest.verifyHash()).toBe(false);
    const err = refusal(() => new HostBuilder().mount(forged));
    expect(err.code).toBe('ERR_MODULE_HASH_MISMATCH');
    expect(err.message).toBe('module "a" manifest hash does not match its declared parts');
  });

  it('refuses a duplicate module id, then an operation owned elsewhere (EffectConflict when the rows differ)', () => {
    const b = new HostBuilder().mount(mod('a', withOp(op('shared.put', 1))));
    expect(refusal(() => b.mount(mod('a', (x) => x.hook('startup', 'h', 0, noop)))).code).toBe('ERR_DUPLICATE_MODULE_ID');
    expect(refusal(() => b.mount(mod('b', withOp(op('shared.put', 1))))).detail).toEqual({ kind: 'duplicate_operation', operation: 'shared.put', module: 'b' });
    expect(refusal(() => b.mount(mod('c', withOp(op('shared.put', 2))))).detail).toEqual({ kind: 'effect_conflict', operation: 'shared.put', module: 'c' });
  });

  it('refuses shared receipt namespaces, job kinds, subscription ids and event-payload bindings', () => {
    const sub = { id: 's.v1', source: { kind: 'event-category', category: 1 }, payloadSchemaRef: 'e', backpressure: { kind: 'bounded-queue', capacity: 1 } } as const;
    const b = new HostBuilder().mount(
      mod('a', (x) => x.receiptNamespace('ns').job('j', noop).subscription(sub).bindEventPayload(0xf001, 'evt.a')),
    );
    // A namespace alone declares nothing (Rust's rule), so these modules carry a hook too.
    expect(refusal(() => b.mount(mod('b', (x) => x.receiptNamespace('ns').hook('startup', 'h', 0, noop)))).code).toBe('ERR_DUPLICATE_RECEIPT_NAMESPACE');
    expect(refusal(() => b.mount(mod('b', (x) => x.job('j', noop)))).code).toBe('ERR_DUPLICATE_JOB_KIND');
    expect(refusal(() => b.mount(mod('b', (x) => x.subscription(sub)))).code).toBe('ERR_DUPLICATE_SUBSCRIPTION_ID');
    expect(refusal(() => b.mount(mod('b', (x) => x.bindEventPayload(0xf001, 'evt.a')))).code).toBe('ERR_DUPLICATE_EVENT_PAYLOAD_BINDING');
    const conflict = refusal(() => b.mount(mod('b', (x) => x.bindEventPayload(0xf001, 'evt.b'))));
    expect(conflict.detail).toEqual({
      kind: 'event_payload_binding_conflict',
      eventKind: 0xf001,
      firstModule: 'a',
      firstReference: 'evt.a',
      secondModule: 'b',
      secondReference: 'evt.b',
    });
  });

  it('refuses one schema identity with two encodings, naming both modules; identical re-declarations dedup', () => {
    const b = new HostBuilder().mount(mod('a', (x) => x.schema(schema('evt', 'event-payload', 'one'))));
    const err = refusal(() => b.mount(mod('b', (x) => x.schema(schema('evt', 'event-payload', 'two')))));
    expect(err.code).toBe('ERR_SCHEMA_COLLISION');
    expect(err.detail).toMatchObject({ schema: 'evt', version: 1, role: 'event-payload', firstModule: 'a', secondModule: 'b' });
    b.mount(mod('c', (x) => x.schema(schema('evt', 'event-payload', 'one'))));
    const host = b.build();
    expect(host.compositionSchemas().schemas.map((s) => [s.descriptor.id, s.ownerModule])).toEqual([['evt', 'a']]);
  });

  it('the checks run in order: a module breaking several rules gets the earliest refusal', () => {
    const b = new HostBuilder().mount(mod('a', (x) => withOp(op('a.put'))(x).receiptNamespace('ns').job('j', noop)));
    expect(refusal(() => b.mount(mod('b', (x) => withOp(op('a.put'))(x).receiptNamespace('ns').job('j', noop)))).code).toBe('ERR_DUPLICATE_OPERATION');
    expect(refusal(() => b.mount(mod('b', (x) => x.receiptNamespace('ns').job('j', noop)))).code).toBe('ERR_DUPLICATE_RECEIPT_NAMESPACE');
  });

  it('a refused mount changes nothing: the builder still builds what it had, and the module can go elsewhere', () => {
    const first = mod('a', withOp(op('a.put')));
    const b = new HostBuilder().mount(first);
    const before = b.build().fingerprint().toHex();
    // Its operation is new, but its namespace collides after the operation was checked: nothing may stick.
    const second = mod('b', (x) => withOp(op('b.put'))(x).receiptNamespace('ns').schema(schema('a.put.in.v9', 'operation-input')));
    b.mount(mod('c', (x) => x.receiptNamespace('ns').hook('startup', 'h', 0, noop)));
    expect(refusal(() => b.mount(second)).code).toBe('ERR_DUPLICATE_RECEIPT_NAMESPACE');
    const after = new HostBuilder().mount(first).mount(mod('c', (x) => x.receiptNamespace('ns').hook('startup', 'h', 0, noop))).build();
    expect(b.build().fingerprint().toHex()).toBe(after.fingerprint().toHex());
    expect(b.build().operations().map((d) => d.name)).toEqual(['a.put']);
    expect(before).not.toBe(after.fingerprint().toHex());
    new HostBuilder().mount(second).build();
  });
});

describe('HostBuilder.build', () => {
  it('refuses an empty host', () => {
    expect(refusal(() => new HostBuilder().build()).code).toBe('ERR_EMPTY_HOST');
  });

  it('every operation needs its input, output and receipt schema (SchemaReferenceMissing names which)', () => {
    const o = op('a.put');
    const [input, output] = opSchemas(o);
    const err = refusal(() => new HostBuilder().mount(mod('a', (x) => x.operation(o).schema(input!).schema(output!))).build());
    expect(err.detail).toEqual({ kind: 'schema_reference_missing', module: 'a', operation: 'a.put', reference: 'receipt.a.put.v1', role: 'receipt-payload' });
    expect(err.message).toBe('operation "a.put" of module "a" references receipt-payload schema "receipt.a.put.v1", which no mounted module declares');
    // The right id with the wrong role does not count.
    const wrongRole = refusal(() =>
      new HostBuilder().mount(mod('a', (x) => x.operation(o).schema(schema(o.descriptor.inputSchemaRef, 'operation-output')))).build(),
    );
    expect(wrongRole.detail).toMatchObject({ kind: 'schema_reference_missing', role: 'operation-input' });
  });

  it('a schema ref declared at two versions is ambiguous', () => {
    const o = op('a.put');
    const err = refusal(() =>
      new HostBuilder()
        .mount(mod('a', (x) => withOp(o)(x).schema(schema(o.descriptor.inputSchemaRef, 'operation-input', 'v2', 2))))
        .build(),
    );
    expect(err.detail).toMatchObject({ kind: 'schema_reference_ambiguous', reference: o.descriptor.inputSchemaRef, versions: [1, 2] });
  });

  it('schemas may come from another module: resolution is over the whole composition', () => {
    const o = op('a.put');
    const host = new HostBuilder()
      .mount(mod('a', (x) => x.operation(o)))
      .mount(mod('schemas', (x) => opSchemas(o).reduce((acc, s) => acc.schema(s), x)))
      .build();
    expect(host.operations().map((d) => d.name)).toEqual(['a.put']);
  });

  it('subscription payloads and binding payloads must resolve to exactly one schema of their role', () => {
    const sub = {
      id: 'r.v1',
      source: { kind: 'receipt-stream', receiptKind: 'k' },
      payloadSchemaRef: 'evt',
      backpressure: { kind: 'bounded-queue', capacity: 1 },
    } as const;
    // An event-payload schema does not satisfy a receipt stream.
    const err = refusal(() => new HostBuilder().mount(mod('a', (x) => x.schema(schema('evt', 'event-payload')).subscription(sub))).build());
    expect(err.detail).toEqual({ kind: 'subscription_payload_schema_missing', module: 'a', subscription: 'r.v1', reference: 'evt', role: 'receipt-payload' });
    const binding = refusal(() => new HostBuilder().mount(mod('a', (x) => x.schema(schema('evt', 'receipt-payload')).bindEventPayload(0xf001, 'evt'))).build());
    expect(binding.code).toBe('ERR_EVENT_PAYLOAD_BINDING_SCHEMA_MISSING');
  });

  it('mounting needs a module built by HostModule.builder', () => {
    expect(() => new HostBuilder().mount({ manifest: undefined } as never)).toThrow(TypeError);
  });
});
