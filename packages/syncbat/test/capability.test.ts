// Capability gate (Rust tests/capability_authz.rs): declared ∖ ambient ⊆ granted, checked before anything runs.
import { describe, expect, it } from 'vitest';
import { AMBIENT_CAPABILITIES, CoreBuilder, RuntimeError, defineOperation } from '../src/index.js';
import { CapturingSink, CapturingStatusSink, RecordingBackend, bytes, rejectionOf } from './helpers/fixtures.js';

let ran = 0;
const secure = defineOperation({
  name: 'vault.open',
  effectClass: 'inspect',
  requiresCapabilities: ['vault.read', 'audit.log'],
  handler: (input) => (ran++, input),
});

describe('INV-SYNCBAT-CAPABILITY-GATE: capability gate', () => {
  it('denies with one capability.denied receipt naming the first ungranted token, before guard and handler', async () => {
    const sink = new CapturingSink();
    const status = new CapturingStatusSink();
    let guarded = false;
    ran = 0;
    const core = new CoreBuilder()
      .register(secure)
      .grantCapability('vault.read')
      .admissionGuard(() => ((guarded = true), { admit: true }))
      .receiptSink(sink)
      .statusSink(status)
      .build();
    const err = (await rejectionOf(core.dispatch('vault.open', bytes('x')))) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    const message = 'operation requires ungranted capability "audit.log"';
    expect(err.detail).toEqual({ kind: 'denied', name: 'vault.open', code: 'capability.denied', message });
    expect(err.message).toBe(`operation \`vault.open\` denied with capability.denied: ${message}`);
    expect(sink.seen).toHaveLength(1);
    expect(sink.seen[0]!.outcome).toEqual({ class: 'denied', code: 'capability.denied', message });
    expect(sink.seen[0]!.signedExtensions.size + sink.seen[0]!.localExtensions.size).toBe(0);
    expect(sink.seen[0]!.inputHash).toBeDefined();
    // No Started fact for a denial before the handler.
    expect(status.facts.map((f) => [f.lifecycle, f.code])).toEqual([['denied', 'capability.denied']]);
    expect([guarded, ran]).toEqual([false, 0]);
  });

  it('grants admit', async () => {
    ran = 0;
    const core = new CoreBuilder().register(secure).grantCapabilities(['audit.log', 'vault.read']).withoutReceipts().build();
    await core.dispatch('vault.open', bytes('x'));
    expect(ran).toBe(1);
  });

  it('the five effect-axis tokens are ambient: a core granted nothing runs an op declaring all five', async () => {
    const op = defineOperation({
      name: 'everything',
      effectClass: 'control',
      effects: { reads: ['c.r'], appends: ['evt.f001'], queries: ['p.q'], emitsReceipt: true, hostControls: ['h.c'] },
      handler: (i) => i,
    });
    expect([...op.descriptor.effectRow.requiresCapabilities].sort()).toEqual([...AMBIENT_CAPABILITIES].sort());
    const core = new CoreBuilder().register(op).effectBackend(new RecordingBackend()).withoutReceipts().build();
    await expect(core.dispatch('everything', bytes(''))).resolves.toMatchObject({ outcome: 'completed' });
  });
});
