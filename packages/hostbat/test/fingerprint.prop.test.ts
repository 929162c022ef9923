// Properties of the fingerprints over random module sets (Rust composition_tests: determinism, sensitivity, mount order).
// INV-HOSTBAT-FINGERPRINT-STABLE: same declarations → same H_module/H_host/H_interface in any mount or registration order; one schema byte moves them.
import { defineOperation } from '@batpak/syncbat';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HostBuilder, HostModule, type HostModuleBuilder } from '../src/index.js';

interface ModuleSpec {
  readonly inGolden: Uint8Array;
  readonly outGolden: Uint8Array;
  readonly hookOrders: readonly number[];
  readonly events: readonly string[];
}

/** Golden bytes are a msgpack bin (`c4 len …`) of random content, so every schema stays structurally valid. */
const goldenArb = fc.uint8Array({ maxLength: 24 }).map((b) => Uint8Array.of(0xc4, b.length, ...b));
const moduleSpecArb: fc.Arbitrary<ModuleSpec> = fc.record({
  inGolden: goldenArb,
  outGolden: goldenArb,
  hookOrders: fc.uniqueArray(fc.nat({ max: 1000 }), { maxLength: 3 }),
  events: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { maxLength: 3 }),
});
const hostArb = fc.array(moduleSpecArb, { minLength: 1, maxLength: 5 }).chain((specs) =>
  fc.record({ specs: fc.constant(specs), order: fc.shuffledSubarray(specs.map((_, i) => i), { minLength: specs.length }) }),
);

type Step = (b: HostModuleBuilder) => unknown;

function buildModule(i: number, spec: ModuleSpec, opts: { reversed?: boolean; inGolden?: Uint8Array } = {}): HostModule {
  const id = `m${i}`;
  const op = defineOperation({
    name: `${id}.op`,
    effectClass: 'compute',
    inputSchemaRef: `${id}.in`,
    outputSchemaRef: `${id}.out`,
    receiptKind: `${id}.receipt`,
    handler: (x) => x,
  });
  const steps: Step[] = [
    (b) => b.operation(op),
    (b) => b.schema({ id: `${id}.in`, version: 1, role: 'operation-input', golden: [{ case: 'g', bytes: opts.inGolden ?? spec.inGolden }] }),
    (b) => b.schema({ id: `${id}.out`, version: 1, role: 'operation-output', golden: [{ case: 'g', bytes: spec.outGolden }] }),
    (b) => b.schema({ id: `${id}.receipt`, version: 1, role: 'receipt-payload' }),
    ...spec.hookOrders.map((order, k): Step => (b) => b.hook(k % 2 === 0 ? 'startup' : 'shutdown', `h${k}`, order, () => undefined)),
    ...spec.events.map((e): Step => (b) => b.schema({ id: `${id}.evt.${e}`, version: 1, role: 'event-payload' })),
  ];
  const b = HostModule.builder(id, 1);
  for (const step of opts.reversed === true ? [...steps].reverse() : steps) step(b);
  return b.build();
}

function hostOf(modules: readonly HostModule[]) {
  let b = new HostBuilder();
  for (const m of modules) b = b.mount(m);
  return b.build();
}

describe('INV-HOSTBAT-FINGERPRINT-STABLE (properties)', () => {
  it('mount order never moves H_host or H_interface; registration order never moves H_module', () => {
    fc.assert(
      fc.property(hostArb, ({ specs, order }) => {
        const inOrder = specs.map((s, i) => buildModule(i, s));
        const shuffled = order.map((i) => buildModule(i, specs[i]!, { reversed: true }));
        for (const m of shuffled) {
          const twin = inOrder.find((x) => x.id === m.id)!;
          expect(m.manifest.digest.toHex()).toBe(twin.manifest.digest.toHex());
        }
        const a = hostOf(inOrder);
        const b = hostOf(shuffled);
        expect(b.fingerprint().toHex()).toBe(a.fingerprint().toHex());
        expect(b.interfaceFingerprint().toHex()).toBe(a.interfaceFingerprint().toHex());
        // No schema is shared between modules here, so even the first-owner composition digest agrees.
        expect(b.compositionSchemas().digest.toHex()).toBe(a.compositionSchemas().digest.toHex());
      }),
      { numRuns: 60 },
    );
  });

  it('changing one byte of one schema golden vector moves H_module, H_host and H_interface', () => {
    fc.assert(
      fc.property(hostArb, fc.nat(), fc.nat(), ({ specs }, which, at) => {
        const target = which % specs.length;
        const mutated = new Uint8Array(specs[target]!.inGolden);
        // Flip one content byte of the bin; an empty bin gets one byte instead.
        if (mutated.length > 2) mutated[2 + (at % (mutated.length - 2))]! ^= 0x01;
        const changed = mutated.length > 2 ? mutated : Uint8Array.of(0xc4, 1, at & 0xff);
        const before = specs.map((s, i) => buildModule(i, s));
        const after = specs.map((s, i) => buildModule(i, s, i === target ? { inGolden: changed } : {}));
        expect(after[target]!.manifest.digest.toHex()).not.toBe(before[target]!.manifest.digest.toHex());
        for (let i = 0; i < specs.length; i++) {
          if (i !== target) expect(after[i]!.manifest.digest.toHex()).toBe(before[i]!.manifest.digest.toHex());
        }
        expect(hostOf(after).fingerprint().toHex()).not.toBe(hostOf(before).fingerprint().toHex());
        expect(hostOf(after).interfaceFingerprint().toHex()).not.toBe(hostOf(before).interfaceFingerprint().toHex());
      }),
      { numRuns: 60 },
    );
  });

  it('the same declarations built twice give identical manifests, byte for byte as JSON', () => {
    fc.assert(
      fc.property(hostArb, ({ specs }) => {
        const a = hostOf(specs.map((s, i) => buildModule(i, s)));
        const b = hostOf(specs.map((s, i) => buildModule(i, s, { reversed: true })));
        expect(JSON.stringify(b.manifest())).toBe(JSON.stringify(a.manifest()));
      }),
      { numRuns: 30 },
    );
  });
});
