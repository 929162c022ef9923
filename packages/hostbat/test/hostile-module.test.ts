// A hostile module inside a host (issue 26): it writes another module's kind, escapes its async scope to reach a host control,
// and leans on another module's grant. INV-HOSTBAT-HOST-CONTROL-DECLARED, INV-SYNCBAT-AUTHORITY-BOUND, INV-HOSTBAT-MODULE-GRANTS.
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import { Coordinate, type Store } from '@batpak/core';
import { EffectError, RuntimeError, StoreEffectBackend, StoreReceiptSink, decodeReceiptEnvelope, defineOperation, type Ctx, type Operation } from '@batpak/syncbat';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HostBuilder, HostError, HostModule, type Host } from '../src/index.js';
import { ORDER_PLACED, mp, opSchemas, rejectionOf, schema, simStore, thrownBy } from './helpers/fixtures.js';

const PAYMENT_TAKEN = Object.freeze({ category: 0xf, typeId: 2 });
const APP = new Coordinate('shop:1', 'scope:test');
const RECEIPTS = new Coordinate('hostbat:receipts', 'scope:test');

// ---- Escape hatches the hostile module sets up at load time, before any dispatch exists. ----
const snapshot = AsyncLocalStorage.snapshot();
const resource = new AsyncResource('hostile.module');
/** A timer made at load: it performs whatever request the handler leaves for it, from the load-time async context. */
let timerRequest: { readonly ctx: Ctx; readonly control: string; readonly done: (outcome: unknown) => void } | undefined;
const timer = setInterval(() => {
  const r = timerRequest;
  if (r === undefined) return;
  timerRequest = undefined;
  r.ctx.useHostControl(r.control).then(() => r.done('performed'), r.done);
}, 1);
timer.unref();
/** A promise chain made at load: its continuation runs in the load-time context once the handler hands it a Ctx. */
let hand: (ctx: Ctx) => void = () => undefined;
const loadTimeChain = new Promise<Ctx>((resolve) => (hand = resolve)).then((ctx) => ctx.useHostControl('ctrl.rotate-keys'));
loadTimeChain.catch(() => undefined);
afterAll(() => clearInterval(timer));

function viaTimer(ctx: Ctx, control: string): Promise<unknown> {
  return new Promise((done) => (timerRequest = { ctx, control, done }));
}

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function moduleOf(id: string, ops: readonly Operation[], extra: (b: ReturnType<typeof HostModule.builder>) => ReturnType<typeof HostModule.builder> = (b) => b) {
  let b = HostModule.builder(id, 1);
  for (const o of ops) b = opSchemas(o).reduce((acc, s) => acc.schema(s), b.operation(o));
  return extra(b).build();
}

async function kindsIn(s: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of s.query({ entity: APP.entity })) out.push(`${e.header.kind.category.toString(16)}${e.header.kind.typeId.toString(16).padStart(3, '0')}`);
  return out;
}

async function receiptOutcomes(s: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of s.query({ entity: RECEIPTS.entity })) {
    const env = decodeReceiptEnvelope((await s.getRaw(e.header.eventId)).bytes);
    out.push(`${env.descriptorName}:${env.outcome.class}${env.outcome.class === 'completed' ? '' : `:${env.outcome.code}`}`);
  }
  return out;
}

describe('an orders operation cannot write the payments module’s kind', () => {
  it('the kind-mutation trick is refused inside the host: denied, and the store holds no payments event', async () => {
    store = await simStore(61);
    const sneaky = defineOperation({
      name: 'orders.place',
      effectClass: 'persist',
      effects: { appends: [ORDER_PLACED] },
      handler: async (input, ctx) => {
        const k = { category: 0xf, typeId: 2 };
        const p = ctx.appendEvent(k, input);
        k.typeId = 1;
        await p;
        return input;
      },
    });
    const orders = moduleOf('orders', [sneaky], (b) => b.schema(schema('orders.placed', 'event-payload')).bindEventPayload(ORDER_PLACED, 'orders.placed'));
    const payments = HostModule.builder('payments', 1).schema(schema('payments.taken', 'event-payload')).bindEventPayload(PAYMENT_TAKEN, 'payments.taken').build();
    const host = new HostBuilder().receiptSink(new StoreReceiptSink(store, RECEIPTS)).effectBackend(new StoreEffectBackend(store, APP)).mount(orders).mount(payments).build();
    const err = (await rejectionOf(host.invoke('orders.place', mp('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared appends_events target "evt.f002"' });
    expect(await kindsIn(store)).toEqual([]);
    expect(await receiptOutcomes(store)).toEqual(['orders.place:denied:effect.violation']);
  });
});

describe('INV-SYNCBAT-AUTHORITY-BOUND: a host control is reachable only through the live Ctx of an operation that declares it', () => {
  const performed: string[] = [];
  let attempt: (ctx: Ctx) => Promise<unknown> = async () => undefined;
  let outcome: unknown;
  /** Declares ctrl.status only; its handler tries ctrl.rotate-keys through `attempt`. */
  const status = defineOperation({
    name: 'ops.status',
    effectClass: 'control',
    effects: { hostControls: ['ctrl.status'] },
    handler: async (input, ctx) => {
      outcome = await attempt(ctx).then((v) => v ?? 'performed', (e: unknown) => e);
      return input;
    },
  });
  let stashed: Ctx | undefined;
  /** Declares ctrl.rotate-keys, and leaks its Ctx. */
  const rotate = defineOperation({
    name: 'ops.rotate',
    effectClass: 'control',
    effects: { hostControls: ['ctrl.rotate-keys'] },
    handler: (input, ctx) => ((stashed = ctx), input),
  });
  const host = (): Host => new HostBuilder().hostControl((id) => void performed.push(id)).mount(moduleOf('ops', [status, rotate])).build();

  it.each([
    ['AsyncLocalStorage.snapshot() taken at load', (ctx: Ctx) => snapshot(() => ctx.useHostControl('ctrl.rotate-keys'))],
    ['an AsyncResource made at load', (ctx: Ctx) => resource.runInAsyncScope(() => ctx.useHostControl('ctrl.rotate-keys'))],
    ['a timer created at load', (ctx: Ctx) => viaTimer(ctx, 'ctrl.rotate-keys').then((v) => (v === 'performed' ? v : Promise.reject(v)))],
    ['a promise chain created at load', (ctx: Ctx) => (hand(ctx), loadTimeChain)],
  ])('%s: refused with ERR_EFFECT_UNDECLARED, the controller never runs, the dispatch is denied', async (_name, body) => {
    performed.length = 0;
    attempt = body;
    const err = (await rejectionOf(host().invoke('ops.status', mp('x')))) as RuntimeError;
    expect(outcome).toBeInstanceOf(EffectError);
    expect((outcome as EffectError).code).toBe('ERR_EFFECT_UNDECLARED');
    expect(performed).toEqual([]);
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'effect.violation', message: 'observed undeclared uses_host_controls target "ctrl.rotate-keys"' });
  });

  it('the Ctx of an operation that does declare the control is revoked when its dispatch ends: a load-time timer gets ERR_CTX_REVOKED', async () => {
    performed.length = 0;
    await host().invoke('ops.rotate', mp('x'));
    const late = await viaTimer(stashed!, 'ctrl.rotate-keys');
    expect(late).toBeInstanceOf(EffectError);
    expect((late as EffectError).code).toBe('ERR_CTX_REVOKED');
    expect(performed).toEqual([]);
  });
});

describe('INV-SYNCBAT-NO-REENTRY inside a host', () => {
  it('a handler invoking its own host is refused with reentrant_dispatch, and the host keeps serving', async () => {
    let host: Host | undefined;
    let inner: unknown;
    const echo = defineOperation({ name: 'm.echo', effectClass: 'compute', handler: (i) => i });
    const loop = defineOperation({
      name: 'm.loop',
      effectClass: 'compute',
      handler: async (input) => {
        inner = await host!.invoke('m.echo', input).then(() => 'completed', (e: unknown) => e);
        return input;
      },
    });
    host = new HostBuilder().mount(moduleOf('m', [echo, loop])).build();
    const hang = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('host hung')), 2000).unref());
    await Promise.race([host.invoke('m.loop', mp('x')), hang]);
    expect(inner).toBeInstanceOf(RuntimeError);
    expect((inner as RuntimeError).detail).toEqual({ kind: 'reentrant_dispatch', name: 'm.echo' });
    await expect(Promise.race([host.invoke('m.echo', mp('y')), hang])).resolves.toMatchObject({ outcome: 'completed' });
  });
});

describe('INV-HOSTBAT-MODULE-GRANTS: a capability is granted to a module, not to the host', () => {
  const place = defineOperation({
    name: 'orders.place',
    effectClass: 'persist',
    effects: { appends: [ORDER_PLACED] },
    requiresCapabilities: ['orders.write'],
    handler: async (input, ctx) => (await ctx.appendEvent(ORDER_PLACED, input), input),
  });
  /** Payments requires the orders capability to append the orders module's kind. */
  const refund = defineOperation({
    name: 'payments.refund',
    effectClass: 'persist',
    effects: { appends: [ORDER_PLACED] },
    requiresCapabilities: ['orders.write'],
    handler: async (input, ctx) => (await ctx.appendEvent(ORDER_PLACED, input), input),
  });
  const orders = () => moduleOf('orders', [place], (b) => b.schema(schema('orders.placed', 'event-payload')).bindEventPayload(ORDER_PLACED, 'orders.placed'));

  it('orders.write granted to `orders` does not let `payments` append the orders kind: capability.denied, nothing appended', async () => {
    store = await simStore(62);
    const host = new HostBuilder()
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .effectBackend(new StoreEffectBackend(store, APP))
      .grantCapability('orders.write', { module: 'orders' })
      .mount(orders())
      .mount(moduleOf('payments', [refund]))
      .build();
    const err = (await rejectionOf(host.invoke('payments.refund', mp('x')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'capability.denied', message: 'operation requires ungranted capability "orders.write"' });
    expect(await kindsIn(store)).toEqual([]);
    await host.invoke('orders.place', mp('y'));
    expect(await kindsIn(store)).toEqual(['f001']);
    expect(await receiptOutcomes(store)).toEqual(['payments.refund:denied:capability.denied', 'orders.place:completed']);
  });

  it('granted to `payments` as well, the refund runs; a grant must name a module, and a mounted one', async () => {
    const host = new HostBuilder()
      .effectBackend({ appendEvent: () => undefined })
      .grantCapability('orders.write', { module: 'orders' })
      .grantCapabilities(['orders.write'], { module: 'payments' })
      .mount(orders())
      .mount(moduleOf('payments', [refund]))
      .build();
    expect((await host.invoke('payments.refund', mp('x'))).outcome).toBe('completed');
    expect(() => new HostBuilder().grantCapability('orders.write', undefined as never)).toThrow(TypeError);
    const unknown = thrownBy(() => new HostBuilder().grantCapability('orders.write', { module: 'ledger' }).mount(orders()).build()) as HostError;
    expect(unknown).toBeInstanceOf(HostError);
    expect(unknown.code).toBe('ERR_GRANT_UNKNOWN_MODULE');
    expect(unknown.message).toBe('capability "orders.write" is granted to module "ledger", which is not mounted');
  });
});
