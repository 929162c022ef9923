// The host-control axis (Rust tests/host_control_backend.rs): controls are performed by the host's controller, and only if declared.
// INV-HOSTBAT-HOST-CONTROL-DECLARED: a declared control is performed through the controller; an undeclared one never reaches it and is
// denied (effect.violation); without a controller, or with one that refuses, the operation fails closed — each with one receipt.
import { Coordinate, type Store } from '@batpak/core';
import { CoreBuilder, RuntimeError, StoreEffectBackend, StoreReceiptSink, decodeReceiptEnvelope, defineOperation, type Operation } from '@batpak/syncbat';
import { afterEach, describe, expect, it } from 'vitest';
import { HostBuilder, HostControlEffectBackend, HostControlError, HostModule, type HostController } from '../src/index.js';
import { ORDER_PLACED, mp, opSchemas, rejectionOf, schema, simStore } from './helpers/fixtures.js';

const RECEIPTS = new Coordinate('hostbat:receipts', 'scope:test');

const reboot = defineOperation({
  name: 'host.reboot',
  effectClass: 'control',
  effects: { hostControls: ['ctrl.alpha'] },
  handler: async (input, ctx) => {
    await ctx.useHostControl('ctrl.alpha');
    return input;
  },
});

/** Declares ctrl.alpha, then tries ctrl.beta as well. */
const overreach = defineOperation({
  name: 'host.overreach',
  effectClass: 'control',
  effects: { hostControls: ['ctrl.alpha'] },
  handler: async (input, ctx) => {
    await ctx.useHostControl('ctrl.alpha');
    await ctx.useHostControl('ctrl.beta');
    return input;
  },
});

/** An inspect operation declares no controls at all. */
const sneaky = defineOperation({
  name: 'host.sneaky',
  effectClass: 'inspect',
  handler: async (input, ctx) => {
    await ctx.useHostControl('ctrl.alpha');
    return input;
  },
});

function controlModule(ops: readonly Operation[] = [reboot, overreach, sneaky]): HostModule {
  let b = HostModule.builder('control', 1);
  for (const o of ops) b = opSchemas(o).reduce((acc, s) => acc.schema(s), b.operation(o));
  return b.build();
}

async function receiptOutcomes(s: Store): Promise<string[]> {
  const out: string[] = [];
  for await (const e of s.query({ entity: RECEIPTS.entity })) {
    const env = decodeReceiptEnvelope((await s.getRaw(e.header.eventId)).bytes);
    out.push(`${env.descriptorName}:${env.outcome.class}${env.outcome.class === 'completed' ? '' : `:${env.outcome.code}`}`);
  }
  return out;
}

let store: Store | undefined;
afterEach(async () => {
  await store?.close();
  store = undefined;
});

function hostWith(s: Store, controller: HostController | undefined) {
  return new HostBuilder().receiptSink(new StoreReceiptSink(s, RECEIPTS)).hostControl(controller).mount(controlModule()).build();
}

describe('INV-HOSTBAT-HOST-CONTROL-DECLARED', () => {
  it('a declared control is performed through a function controller, and the completed receipt is banked and verifies', async () => {
    store = await simStore(21, { signingKey: new Uint8Array(32).fill(3) });
    const performed: string[] = [];
    const host = hostWith(store, (id) => void performed.push(id));
    const { output, receipt } = await host.invoke('host.reboot', mp('go'));
    expect(output).toEqual(mp('go'));
    expect(performed).toEqual(['ctrl.alpha']);
    expect(receipt?.envelope.outcome).toEqual({ class: 'completed' });
    expect((await store.verifyReceipt(receipt!.appendReceipt!)).status).toBe('signed');
    expect(await receiptOutcomes(store)).toEqual(['host.reboot:completed']);
  });

  it('an object controller works the same (perform is called on the object)', async () => {
    store = await simStore(22);
    const controller = {
      performed: [] as string[],
      async perform(id: string) {
        this.performed.push(id);
      },
    };
    await hostWith(store, controller).invoke('host.reboot', mp('go'));
    expect(controller.performed).toEqual(['ctrl.alpha']);
  });

  it('an undeclared control never reaches the controller: the checkout is denied with effect.violation and one receipt', async () => {
    store = await simStore(23);
    const performed: string[] = [];
    const host = hostWith(store, (id) => void performed.push(id));
    const overreached = (await rejectionOf(host.invoke('host.overreach', mp('go')))) as RuntimeError;
    expect(overreached.detail).toEqual({
      kind: 'denied',
      name: 'host.overreach',
      code: 'effect.violation',
      message: 'observed undeclared uses_host_controls target "ctrl.beta"',
    });
    const sneaked = (await rejectionOf(host.invoke('host.sneaky', mp('go')))) as RuntimeError;
    expect(sneaked.detail).toMatchObject({ kind: 'denied', code: 'effect.violation' });
    // Only the declared ctrl.alpha of host.overreach was performed; ctrl.beta and host.sneaky's control were not.
    expect(performed).toEqual(['ctrl.alpha']);
    expect(await receiptOutcomes(store)).toEqual(['host.overreach:denied:effect.violation', 'host.sneaky:denied:effect.violation']);
  });

  it('without a controller the operation fails closed with a failed receipt', async () => {
    store = await simStore(24);
    const bare = (await rejectionOf(hostWith(store, undefined).invoke('host.reboot', mp('go')))) as RuntimeError;
    expect(bare.code).toBe('handler');
    expect(bare.detail).toMatchObject({ code: 'failed', message: 'effect backend failure: no effect backend is bound for this invocation; cannot use host controls' });
    // With a store backend but no controller, the store's fail-closed default answers instead.
    const withStore = new HostBuilder()
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .effectBackend(new StoreEffectBackend(store, new Coordinate('app:1', 'scope:test')))
      .mount(controlModule())
      .build();
    const stored = (await rejectionOf(withStore.invoke('host.reboot', mp('go')))) as RuntimeError;
    expect(stored.detail).toMatchObject({ code: 'failed', message: 'effect backend failure: host controls are not supported by this effect backend' });
    expect(await receiptOutcomes(store)).toEqual(['host.reboot:failed:failed', 'host.reboot:failed:failed']);
  });

  it('a rejecting controller was asked, refused, and the operation fails closed with a failed receipt', async () => {
    store = await simStore(25);
    const asked: string[] = [];
    const host = hostWith(store, (id) => {
      asked.push(id);
      throw new HostControlError('reboot refused');
    });
    const err = (await rejectionOf(host.invoke('host.reboot', mp('go')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed', message: 'effect backend failure: host control failure: reboot refused' });
    expect(err.receipt?.envelope.outcome.class).toBe('failed');
    expect(asked).toEqual(['ctrl.alpha']);
    expect(await receiptOutcomes(store)).toEqual(['host.reboot:failed:failed']);
  });
});

describe('HostControlEffectBackend', () => {
  it('sends every other axis to the inner backend, and fails closed without one', async () => {
    store = await simStore(26);
    const controlAndAppend = defineOperation({
      name: 'host.rotate',
      effectClass: 'control',
      effects: { hostControls: ['ctrl.alpha'], appends: [ORDER_PLACED] },
      handler: async (input, ctx) => {
        await ctx.useHostControl('ctrl.alpha');
        await ctx.appendEvent(ORDER_PLACED, input);
        return input;
      },
    });
    const module = HostModule.builder('m', 1)
      .operation(controlAndAppend)
      .schema(schema('schema.host.rotate.input.v1', 'operation-input'))
      .schema(schema('schema.host.rotate.output.v1', 'operation-output'))
      .schema(schema('receipt.host.rotate.v1', 'receipt-payload'))
      .schema(schema('evt', 'event-payload'))
      .bindEventPayload(ORDER_PLACED, 'evt')
      .build();
    const host = new HostBuilder()
      .effectBackend(new StoreEffectBackend(store, new Coordinate('app:1', 'scope:test')))
      .hostControl(() => undefined)
      .mount(module)
      .build();
    await host.invoke('host.rotate', mp('x'));
    let appended = 0;
    for await (const _e of store.query({ entity: 'app:1' })) appended++;
    expect(appended).toBe(1);

    const alone = new HostControlEffectBackend({ controller: () => undefined });
    await expect(alone.appendEvent(ORDER_PLACED, mp('x'))).rejects.toThrow('effect backend failure: event appends are not supported without an inner effect backend');
    await expect(alone.readEvent('c')).rejects.toThrow('effect backend failure: event reads are not supported by this effect backend');
    await expect(alone.emitReceipt('k')).rejects.toThrow('effect backend failure: receipt emission is not supported by this effect backend');
  });

  it('over one store: the control is performed when called, the append is staged with the receipt and dropped on failure', async () => {
    // INV-SYNCBAT-ATOMIC-INVOCATION through HostControlEffectBackend(ValidatingEffectBackend(StoreEffectBackend)).
    store = await simStore(27);
    const performed: string[] = [];
    const rotateThenFail = defineOperation({
      name: 'host.rotate',
      effectClass: 'control',
      effects: { hostControls: ['ctrl.alpha'], appends: [ORDER_PLACED] },
      handler: async (input, ctx) => {
        await ctx.useHostControl('ctrl.alpha');
        await ctx.appendEvent(ORDER_PLACED, input);
        if (input.length > 2) throw new Error('changed my mind'); // mp('xx'), not mp('x')
        return input;
      },
    });
    const module = HostModule.builder('m', 1)
      .operation(rotateThenFail)
      .schema(schema('schema.host.rotate.input.v1', 'operation-input'))
      .schema(schema('schema.host.rotate.output.v1', 'operation-output'))
      .schema(schema('receipt.host.rotate.v1', 'receipt-payload'))
      .schema(schema('evt', 'event-payload'))
      .bindEventPayload(ORDER_PLACED, 'evt')
      .build();
    const host = new HostBuilder()
      .receiptSink(new StoreReceiptSink(store, RECEIPTS))
      .effectBackend(new StoreEffectBackend(store, new Coordinate('app:1', 'scope:test')))
      .hostControl((id) => void performed.push(id))
      .mount(module)
      .build();
    const err = (await rejectionOf(host.invoke('host.rotate', mp('xx')))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'handler', code: 'failed' });
    await host.invoke('host.rotate', mp('x'));
    expect(performed).toEqual(['ctrl.alpha', 'ctrl.alpha']);
    const appended: bigint[] = [];
    for await (const e of store.query({ entity: 'app:1' })) appended.push(e.header.globalSequence);
    expect(appended).toHaveLength(1);
    expect(await receiptOutcomes(store)).toEqual(['host.rotate:failed:failed', 'host.rotate:completed']);
    // The completed invocation's append and its receipt went in one commit: adjacent sequence numbers.
    const receiptSeqs: bigint[] = [];
    for await (const e of store.query({ entity: RECEIPTS.entity })) receiptSeqs.push(e.header.globalSequence);
    expect(receiptSeqs[1]).toBe(appended[0]! + 1n);
  });

  it('on a bare syncbat Core the Ctx refuses the undeclared control before the backend too (no perform-then-check)', async () => {
    const performed: string[] = [];
    const core = new CoreBuilder()
      .register(overreach)
      .withoutReceipts()
      .effectBackend(new HostControlEffectBackend({ controller: (id) => void performed.push(id) }))
      .build();
    const err = (await rejectionOf(core.dispatch('host.overreach', mp('go')))) as RuntimeError;
    expect(err.detail).toMatchObject({ code: 'effect.violation' });
    expect(performed).toEqual(['ctrl.alpha']);
  });

  it('refuses a controller that is neither a function nor has perform()', () => {
    expect(() => new HostBuilder().hostControl({} as never)).toThrow(TypeError);
    expect(() => new HostControlEffectBackend({ controller: 42 as never })).toThrow(TypeError);
  });
});
