// Per-dispatch caller (INV-SYNCBAT-CALLER-GATE): a capability must be granted to the host AND held by the caller,
// and every receipt of a caller's dispatch names its principal in the signed drawer.
import { describe, expect, it } from 'vitest';
import { CALLER_PRINCIPAL_KEY, CoreBuilder, RuntimeError, defineOperation } from '../src/index.js';
import { CapturingSink, bytes, rejectionOf, text } from './helpers/fixtures.js';

let ran = 0;
const secure = defineOperation({
  name: 'vault.open',
  effectClass: 'inspect',
  requiresCapabilities: ['vault.read'],
  handler: (input) => (ran++, input),
});
const stamping = defineOperation({
  name: 'vault.stamp',
  effectClass: 'inspect',
  handler: (input, ctx) => (ctx.attachSigned(CALLER_PRINCIPAL_KEY, bytes('forged')), input),
});

function core(sink: CapturingSink) {
  return new CoreBuilder().register(secure).register(stamping).grantCapability('vault.read').receiptSink(sink).build();
}

describe('INV-SYNCBAT-CALLER-GATE: per-dispatch caller', () => {
  it('denies a caller who lacks a host-granted capability, with one capability.denied receipt naming the caller', async () => {
    const sink = new CapturingSink();
    ran = 0;
    const err = (await rejectionOf(core(sink).dispatch('vault.open', bytes('x'), { caller: { principal: 'mallory', capabilities: [] } }))) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'capability.denied' });
    expect(ran).toBe(0);
    expect(sink.seen).toHaveLength(1);
    expect(text(sink.seen[0]!.signedExtensions.get(CALLER_PRINCIPAL_KEY)!)).toBe('mallory');
  });

  it('a caller holding a capability the host does not grant is still denied: the host grant is the ceiling', async () => {
    const sink = new CapturingSink();
    const only = new CoreBuilder().register(secure).receiptSink(sink).build();
    const err = (await rejectionOf(only.dispatch('vault.open', bytes('x'), { caller: { principal: 'alice', capabilities: ['vault.read'] } }))) as RuntimeError;
    expect(err.detail).toMatchObject({ kind: 'denied', code: 'capability.denied' });
  });

  it('admits a caller holding the capability; the completed receipt records the principal, and without a caller nothing is stamped', async () => {
    const sink = new CapturingSink();
    const c = core(sink);
    ran = 0;
    await c.dispatch('vault.open', bytes('x'), { caller: { principal: 'alice', capabilities: ['vault.read'] } });
    await c.dispatch('vault.open', bytes('y'));
    expect(ran).toBe(2);
    expect(text(sink.seen[0]!.signedExtensions.get(CALLER_PRINCIPAL_KEY)!)).toBe('alice');
    expect(sink.seen[1]!.signedExtensions.has(CALLER_PRINCIPAL_KEY)).toBe(false);
  });

  it('a handler cannot stamp or overwrite the principal', async () => {
    const sink = new CapturingSink();
    const c = core(sink);
    // The runtime refuses the reserved key; the failed receipt still names the real caller, and only it.
    await expect(c.dispatch('vault.stamp', bytes('x'), { caller: { principal: 'alice', capabilities: [] } })).rejects.toBeInstanceOf(RuntimeError);
    await expect(c.dispatch('vault.stamp', bytes('x'))).rejects.toBeInstanceOf(RuntimeError);
    expect(text(sink.seen[0]!.signedExtensions.get(CALLER_PRINCIPAL_KEY)!)).toBe('alice');
    expect(sink.seen[1]!.signedExtensions.has(CALLER_PRINCIPAL_KEY)).toBe(false);
  });

  it('refuses a malformed caller with a TypeError before anything runs', async () => {
    const sink = new CapturingSink();
    const bad = [null, 'alice', { principal: '', capabilities: [] }, { principal: 'a', capabilities: 'x' }, { principal: 'a', capabilities: [1] }];
    for (const caller of bad) {
      await expect(core(sink).dispatch('vault.open', bytes('x'), { caller: caller as never })).rejects.toBeInstanceOf(TypeError);
    }
    expect(sink.seen).toHaveLength(0);
  });
});

describe('INV-SYNCBAT-CALLER-GATE: ambient tokens', () => {
  it('are not asked of a caller: they mirror the declared effect axes, which the effect check covers', async () => {
    const reader = defineOperation({ name: 'log.read', effectClass: 'inspect', effects: { reads: ['log'] }, handler: (i) => i });
    const c = new CoreBuilder().register(reader).withoutReceipts().build();
    await expect(c.dispatch('log.read', bytes(''), { caller: { principal: 'bob', capabilities: [] } })).resolves.toMatchObject({ outcome: 'completed' });
  });
});
