// A built host at run time (Rust composition_tests, validating_effect_backend_tests): schema gate, per-module guards, bindings, grants.
// INV-HOSTBAT-SCHEMA-GATE: input failing its schema never reaches the handler; output failing its schema is never returned.
import { Coordinate, cbin, encodeCanonical, type Store } from '@batpak/core';
import {
  RuntimeError,
  StoreEffectBackend,
  StoreReceiptSink,
  admit,
  decodeReceiptEnvelope,
  defineOperation,
  deny,
  type EffectBackend,
  type Operation,
  type ReceiptEnvelope,
  type ReceiptSink,
} from '@batpak/syncbat';
import { afterEach, describe, expect, it } from 'vitest';
import { HostBuilder, HostModule, SchemaRegistry, ValidatingEffectBackend, type HostModuleBuilder } from '../src/index.js';
import { msgpackValueProblem } from '../src/msgpack-value.js';
import { ORDER_PLACED, mp, opSchemas, orderPayload, rejectionOf, schema, simStore } from './helpers/fixtures.js';

class Capture implements ReceiptSink {
  readonly seen: ReceiptEnvelope[] = [];
  recordReceipt(envelope: ReceiptEnvelope) {
    this.seen.push(envelope);
    return { envelope };
  }
}

function moduleWith(id: string, ops: readonly Operation[], extra: (b: HostModuleBuilder) => HostModuleBuilder = (b) => b): HostModule {
  let b = HostModule.builder(id, 1);
  for (const o of ops) b = opSchemas(o).reduce((acc, s) => acc.schema(s), b.operation(o));
  return extra(b).build();
}

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

describe('INV-HOSTBAT-SCHEMA-GATE: the schema-validating handler', () => {
  it('input that is not one msgpack value is refused before the handler, with a failed receipt', async () => {
    let ran = 0;
    const echo = defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => (ran++, i) });
    const sink = new Capture();
    const host = new HostBuilder().receiptSink(sink).mount(moduleWith('m', [echo])).build();
    for (const bad of [new Uint8Array(), Uint8Array.of(0xc1), Uint8Array.of(0x92, 0x01)]) {
      const err = (await rejectionOf(host.invoke('echo', bad))) as RuntimeError;
      expect(err).toBeInstanceOf(RuntimeError);
      expect(err.detail).toMatchObject({ kind: 'handler', code: 'invalid_input' });
      expect((err.detail as { message: string }).message).toMatch(/^operation echo input schema validation failed: schema "schema\.echo\.input\.v1" \(operation-input\) validation failed: payload is not canonical bytes: /);
    }
    expect(ran).toBe(0);
    expect(sink.seen.map((e) => e.outcome.class)).toEqual(['failed', 'failed', 'failed']);
  });

  it('the structural check is Rust’s: any one value passes, trailing bytes, ext types and wide forms included', () => {
    // `{` is 0x7b, a positive fixint: JSON text "passes" as one int plus trailing bytes, exactly as in Rust.
    expect(msgpackValueProblem(new TextEncoder().encode('{"json":1}'))).toBeUndefined();
    expect(msgpackValueProblem(Uint8Array.of(0xd4, 0x01, 0x02))).toBeUndefined(); // fixext 1
    expect(msgpackValueProblem(Uint8Array.of(0xcd, 0x00, 0x01))).toBeUndefined(); // 1 as a u16
    expect(msgpackValueProblem(Uint8Array.of(0xa1, 0xff))).toBeUndefined(); // not UTF-8, still a str
    expect(msgpackValueProblem(Uint8Array.of(0x81, 0xa1, 0x61))).toMatch(/truncated/);
    expect(msgpackValueProblem(Uint8Array.of(0xdd, 0xff, 0xff, 0xff, 0xff))).toMatch(/truncated/);
    const deep = new Uint8Array(2000).fill(0x91);
    expect(msgpackValueProblem(deep)).toMatch(/nesting deeper than 1024/);
  });

  const putOperation = defineOperation({
    name: 'put',
    effectClass: 'persist',
    effects: { appends: [ORDER_PLACED] },
    handler: async (input, ctx) => {
      await ctx.appendEvent(ORDER_PLACED, input);
      return Uint8Array.of(0xc1);
    },
  });
  const putModule = () => moduleWith('m', [putOperation], (b) => b.schema(schema('evt', 'event-payload')).bindEventPayload(ORDER_PLACED, 'evt'));

  async function ordersOn(s: Store): Promise<unknown[]> {
    const appended = [];
    for await (const e of s.query({ entity: 'orders:1' })) appended.push(e);
    return appended;
  }

  it('output that fails its schema is never returned: failed receipt, and over one store its append is never committed', async () => {
    // INV-SYNCBAT-ATOMIC-INVOCATION through the host's validating backend stack: the append was staged, so the failed
    // invocation commits its receipt and nothing else.
    store = await simStore(11);
    const host = new HostBuilder()
      .receiptSink(new StoreReceiptSink(store, new Coordinate('hostbat:receipts', 'scope:test')))
      .effectBackend(new StoreEffectBackend(store, new Coordinate('orders:1', 'scope:test')))
      .mount(putModule())
      .build();
    const err = (await rejectionOf(host.invoke('put', mp('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed' });
    expect((err.detail as { message: string }).message).toMatch(/^operation put output schema validation failed: /);
    expect(err.receipt?.envelope.outcome.class).toBe('failed');
    expect(await ordersOn(store)).toHaveLength(0);
  });

  it('with receipts outside the store, appends are performed when called and stay after a failed output', async () => {
    store = await simStore(12);
    const sink = new Capture();
    const host = new HostBuilder()
      .receiptSink(sink)
      .effectBackend(new StoreEffectBackend(store, new Coordinate('orders:1', 'scope:test')))
      .mount(putModule())
      .build();
    const err = (await rejectionOf(host.invoke('put', mp('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed' });
    expect(await ordersOn(store)).toHaveLength(1);
  });
});

describe('the composite guard', () => {
  it('routes each operation to its own module’s guard; operations of unguarded modules are admitted', async () => {
    const seen: string[] = [];
    const a = defineOperation({ name: 'a.op', effectClass: 'compute', handler: (i) => i });
    const b = defineOperation({ name: 'b.op', effectClass: 'compute', handler: (i) => i });
    const c = defineOperation({ name: 'c.op', effectClass: 'compute', handler: (i) => i });
    const sink = new Capture();
    const host = new HostBuilder()
      .receiptSink(sink)
      .mount(moduleWith('a', [a], (x) => x.guard('a.guard.v1', (d) => (seen.push(`a:${d.name}`), deny('a.closed', 'module a is closed')))))
      .mount(
        moduleWith('b', [b], (x) =>
          x.guard('b.guard.v1', (d, _input, ctx) => {
            seen.push(`b:${d.name}`);
            ctx.attachSigned('guard', new TextEncoder().encode('b'));
            return admit();
          }),
        ),
      )
      .mount(moduleWith('c', [c]))
      .build();
    const denied = (await rejectionOf(host.invoke('a.op', mp('x')))) as RuntimeError;
    expect(denied.detail).toEqual({ kind: 'denied', name: 'a.op', code: 'a.closed', message: 'module a is closed' });
    expect((await host.invoke('b.op', mp('x'))).receipt?.envelope.signedExtensions.get('guard')).toEqual(new TextEncoder().encode('b'));
    await host.invoke('c.op', mp('x'));
    expect(seen).toEqual(['a:a.op', 'b:b.op']);
    expect(sink.seen.map((e) => `${e.descriptorName}:${e.outcome.class}`)).toEqual(['a.op:denied', 'b.op:completed', 'c.op:completed']);
  });
});

describe('ValidatingEffectBackend', () => {
  const put = (name: string, kind: { category: number; typeId: number }, payload: Uint8Array) =>
    defineOperation({
      name,
      effectClass: 'persist',
      effects: { appends: [kind] },
      handler: async (_input, ctx) => {
        await ctx.appendEvent(kind, payload);
        return mp('ok');
      },
    });

  it('appends need a binding and a payload that passes the bound event-payload schema; then they reach the store', async () => {
    store = await simStore(12);
    const ops = [
      put('put.1', { category: 0xf, typeId: 1 }, mp('fine')),
      put('put.2', { category: 0xf, typeId: 2 }, mp('unbound')),
      put('put.bad', { category: 0xf, typeId: 1 }, Uint8Array.of(0xc1)),
    ];
    const host = new HostBuilder()
      .effectBackend(new StoreEffectBackend(store, new Coordinate('orders:1', 'scope:test')))
      .mount(moduleWith('m', ops, (b) => b.schema(schema('evt', 'event-payload')).bindEventPayload(0xf001, 'evt')))
      .build();

    await host.invoke('put.1', mp('x'));
    const unbound = (await rejectionOf(host.invoke('put.2', mp('x')))) as RuntimeError;
    expect(unbound.detail).toMatchObject({ kind: 'handler', code: 'failed', message: 'effect backend failure: event kind 0xf002 has no payload schema binding' });
    const invalid = (await rejectionOf(host.invoke('put.bad', mp('x')))) as RuntimeError;
    expect((invalid.detail as { message: string }).message).toMatch(/^effect backend failure: event kind 0xf001 payload schema validation failed: schema "evt" \(event-payload\)/);

    const stored = [];
    for await (const e of store.query({ entity: 'orders:1' })) stored.push((await store.getRaw(e.header.eventId)).bytes);
    // Exactly the one valid append, stored as syncbat does: the handler's bytes wrapped in one msgpack bin.
    expect(stored).toEqual([encodeCanonical(cbin(mp('fine')))]);
  });

  it('passes reads, queries, emits and controls through, or fails closed with syncbat’s messages', async () => {
    const calls: string[] = [];
    const full: EffectBackend = {
      appendEvent: () => undefined,
      readEvent: (c) => void calls.push(`read:${c}`),
      queryProjection: (p) => void calls.push(`query:${p}`),
      emitReceipt: (k) => void calls.push(`emit:${k}`),
      useHostControl: (h) => void calls.push(`control:${h}`),
    };
    const v = new ValidatingEffectBackend(full, new Map(), new SchemaRegistry([]));
    await v.readEvent('c');
    await v.queryProjection('p');
    await v.emitReceipt('k');
    await v.useHostControl('h');
    expect(calls).toEqual(['read:c', 'query:p', 'emit:k', 'control:h']);
    const bare = new ValidatingEffectBackend({ appendEvent: () => undefined }, new Map(), new SchemaRegistry([]));
    await expect(bare.readEvent('c')).rejects.toThrow('effect backend failure: event reads are not supported by this effect backend');
    await expect(bare.useHostControl('h')).rejects.toThrow('effect backend failure: host controls are not supported by this effect backend');
  });
});

describe('sinks and grants', () => {
  it('a host without a receipt sink runs withoutReceipts (hosts do not fail closed here, as in Rust)', async () => {
    const echo = defineOperation({ name: 'echo', effectClass: 'compute', handler: (i) => i });
    const result = await new HostBuilder().mount(moduleWith('m', [echo])).build().invoke('echo', mp('x'));
    expect(result.receipt).toBeUndefined();
    expect(result.output).toEqual(mp('x'));
  });

  it('declared capabilities must be granted to the module', async () => {
    const write = defineOperation({ name: 'write', effectClass: 'inspect', requiresCapabilities: ['orders.write'], handler: (i) => i });
    const module = moduleWith('m', [write]);
    const closed = (await rejectionOf(new HostBuilder().mount(module).build().invoke('write', mp('x')))) as RuntimeError;
    expect(closed.detail).toMatchObject({ kind: 'denied', code: 'capability.denied' });
    await new HostBuilder().grantCapability('orders.write', { module: 'm' }).mount(module).build().invoke('write', mp('x'));
  });

  it('receipts banked by a store sink decode to the envelope and carry the operation’s receipt kind', async () => {
    store = await simStore(13);
    const echo = defineOperation({ name: 'echo', effectClass: 'compute', receiptKind: 'echo.receipt', handler: (i) => i });
    const host = new HostBuilder().receiptSink(new StoreReceiptSink(store, new Coordinate('hostbat:receipts', 'scope:test'))).mount(moduleWith('m', [echo])).build();
    const { receipt } = await host.invoke('echo', orderPayload('sku-1', 2));
    const raw = await store.getRaw(receipt!.appendReceipt!.eventId);
    expect(decodeReceiptEnvelope(raw.bytes)).toEqual(receipt!.envelope);
    expect(receipt!.envelope.receiptKind).toBe('echo.receipt');
  });
});
