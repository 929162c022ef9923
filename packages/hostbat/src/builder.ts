// HostBuilder: mounts modules (checking them against each other), then lowers them all into one syncbat CoreBuilder.
// Invariant: a refused mount changes nothing (every check runs before any state moves); build() resolves every schema reference or fails.

import {
  BuildError,
  CoreBuilder,
  type AdmissionGuard,
  type EffectBackend,
  type OperationDescriptor,
  type OperationStatusSink,
  type ReceiptSink,
} from '@batpak/syncbat';
import { CompositionSchemaBuilder } from './composition.js';
import { compositeGuard } from './composite-guard.js';
import { HostError } from './errors.js';
import { HostControlEffectBackend, type HostController } from './host-control-backend.js';
import { computeHostFingerprint } from './host-fingerprint.js';
import { newHost, type Host, type HostHook } from './host.js';
import { computeInterfaceFingerprint } from './interface.js';
import type { HostModuleManifest } from './manifest.js';
import { moduleImpls, type HostModule, type JobBody, type ModuleImpls } from './module.js';
import { compareUtf8 } from './order.js';
import { quote } from './quote.js';
import { SchemaRegistry } from './schema-registry.js';
import { schemaValidatingHandler } from './schema-validating-handler.js';
import { ValidatingEffectBackend } from './validating-effect-backend.js';

interface Mounted {
  readonly manifest: HostModuleManifest;
  readonly impls: ModuleImpls;
}

function lowered<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (err instanceof BuildError) throw new HostError({ kind: 'build', message: err.message }, { cause: err });
    throw err;
  }
}

/** Global hook schedule: (order, module id, hook name) — module ids are unique, so the order is total. */
function byGlobalOrder(a: HostHook, b: HostHook): number {
  return a.descriptor.order - b.descriptor.order || compareUtf8(a.module, b.module) || compareUtf8(a.descriptor.name, b.descriptor.name);
}

export class HostBuilder {
  readonly #mounted: Mounted[] = [];
  readonly #operationOwners = new Map<string, { module: string; descriptor: OperationDescriptor }>();
  readonly #namespaces = new Map<string, string>();
  readonly #jobOwners = new Map<string, string>();
  readonly #subscriptionOwners = new Map<string, string>();
  readonly #bindings = new Map<number, { module: string; ref: string }>();
  readonly #schemas = new CompositionSchemaBuilder();
  /** Module id → the capability tokens granted to that module's operations only. */
  readonly #grants = new Map<string, Set<string>>();
  #receiptSink: ReceiptSink | undefined;
  #statusSink: OperationStatusSink | undefined;
  #backend: EffectBackend | undefined;
  #controller: HostController | undefined;

  /** Where receipts are banked. Without one the host runs `withoutReceipts()` (Rust: hosts do not fail closed here). */
  receiptSink(sink: ReceiptSink): this {
    if (typeof sink?.recordReceipt !== 'function') throw new TypeError('receipt sink must have recordReceipt(envelope)');
    this.#receiptSink = sink;
    return this;
  }

  statusSink(sink: OperationStatusSink | undefined): this {
    if (sink !== undefined && typeof sink.recordFact !== 'function') throw new TypeError('status sink must have recordFact(fact)');
    this.#statusSink = sink;
    return this;
  }

  /**
   * Grants a capability token to one module: only that module's operations may rely on it (a module is a unit of
   * authority; there is no host-wide grant). The module must be mounted by build(), else `ERR_GRANT_UNKNOWN_MODULE`.
   * Grants are part of H_host.
   */
  grantCapability(token: string, options: { readonly module: string }): this {
    if (typeof token !== 'string') throw new TypeError('capability token must be a string');
    const module = options?.module;
    if (typeof module !== 'string') throw new TypeError('grantCapability needs { module: <module id> }: grants are per module');
    let set = this.#grants.get(module);
    if (set === undefined) this.#grants.set(module, (set = new Set()));
    set.add(token);
    return this;
  }

  grantCapabilities(tokens: Iterable<string>, options: { readonly module: string }): this {
    for (const t of tokens) this.grantCapability(t, options);
    return this;
  }

  /** The store-facing backend; the host wraps it so every append must pass its kind's bound event-payload schema. */
  effectBackend(backend: EffectBackend | undefined): this {
    if (backend !== undefined && typeof backend.appendEvent !== 'function') throw new TypeError('effect backend must have appendEvent(kind, payload)');
    this.#backend = backend;
    return this;
  }

  /** Performs declared host controls: a function `(controlId) => …` or an object with `perform(controlId)`. */
  hostControl(controller: HostController | undefined): this {
    if (controller !== undefined && typeof controller !== 'function' && typeof controller?.perform !== 'function') {
      throw new TypeError('host controller must be a function or an object with perform(controlId)');
    }
    this.#controller = controller;
    return this;
  }

  /**
   * Checks, in Rust's order: manifest hash, module id, operations (EffectConflict / DuplicateOperation), receipt
   * namespaces, job kinds, subscription ids, event-payload bindings, schema collisions. Throws HostError; a refused
   * module leaves the builder as it was.
   */
  mount(module: HostModule): this {
    const impls = moduleImpls(module);
    if (impls === undefined) throw new TypeError('mount needs a HostModule built by HostModule.builder(...).build()');
    const m = module.manifest;
    if (!m.verifyHash()) throw new HostError({ kind: 'module_hash_mismatch', module: m.id });
    if (this.#mounted.some((x) => x.manifest.id === m.id)) throw new HostError({ kind: 'duplicate_module_id', id: m.id });
    for (const d of m.operations) {
      const owner = this.#operationOwners.get(d.name);
      if (owner === undefined) continue;
      const kind = owner.descriptor.effectRow.equals(d.effectRow) ? 'duplicate_operation' : 'effect_conflict';
      throw new HostError({ kind, operation: d.name, module: m.id });
    }
    for (const ns of m.receiptNamespaces) {
      if (this.#namespaces.has(ns)) throw new HostError({ kind: 'duplicate_receipt_namespace', namespace: ns, module: m.id });
    }
    for (const j of m.jobs) {
      if (this.#jobOwners.has(j.kind)) throw new HostError({ kind: 'duplicate_job_kind', jobKind: j.kind, module: m.id });
    }
    for (const s of m.subscriptions) {
      if (this.#subscriptionOwners.has(s.id)) throw new HostError({ kind: 'duplicate_subscription_id', id: s.id, module: m.id });
    }
    for (const b of m.eventPayloadBindings) {
      const first = this.#bindings.get(b.kind);
      if (first === undefined) continue;
      if (first.ref === b.payloadSchemaRef) throw new HostError({ kind: 'duplicate_event_payload_binding', eventKind: b.kind, module: m.id, reference: b.payloadSchemaRef });
      throw new HostError({
        kind: 'event_payload_binding_conflict',
        eventKind: b.kind,
        firstModule: first.module,
        firstReference: first.ref,
        secondModule: m.id,
        secondReference: b.payloadSchemaRef,
      });
    }
    const collision = this.#schemas.check(m.id, m.schemas);
    if (collision !== undefined) throw collision;

    // Every check passed: now commit.
    for (const d of m.operations) this.#operationOwners.set(d.name, { module: m.id, descriptor: d });
    for (const ns of m.receiptNamespaces) this.#namespaces.set(ns, m.id);
    for (const j of m.jobs) this.#jobOwners.set(j.kind, m.id);
    for (const s of m.subscriptions) this.#subscriptionOwners.set(s.id, m.id);
    for (const b of m.eventPayloadBindings) this.#bindings.set(b.kind, { module: m.id, ref: b.payloadSchemaRef });
    this.#schemas.add(m.id, m.schemas);
    this.#mounted.push({ manifest: m, impls });
    return this;
  }

  /**
   * EmptyHost → H_host → composition → subscription and binding schemas → H_interface (every operation's input, output
   * and receipt schema must resolve) → one CoreBuilder: schema-validating handlers, the composite guard, the sinks,
   * grants, and the backend stack ValidatingEffectBackend(backend), wrapped by HostControlEffectBackend(controller).
   */
  build(): Host {
    if (this.#mounted.length === 0) throw new HostError({ kind: 'empty_host' });
    const manifests = this.#mounted.map((x) => x.manifest);
    for (const [module, tokens] of [...this.#grants].sort(([a], [b]) => compareUtf8(a, b))) {
      if (!manifests.some((m) => m.id === module)) throw new HostError({ kind: 'grant_unknown_module', module, capability: [...tokens].sort(compareUtf8)[0]! });
    }
    const grants = new Map([...this.#grants].map(([module, tokens]) => [module, Object.freeze([...tokens].sort(compareUtf8))]));
    const fingerprint = computeHostFingerprint(manifests, grants);
    const composition = this.#schemas.seal();
    const interfaceFingerprint = computeInterfaceFingerprint(manifests, composition);
    const registry = new SchemaRegistry(composition.schemas.map((s) => s.descriptor));

    const core = new CoreBuilder();
    const guards = new Map<string, AdmissionGuard>();
    const startup: HostHook[] = [];
    const shutdown: HostHook[] = [];
    const jobs = new Map<string, JobBody>();
    for (const { manifest, impls } of this.#mounted) {
      for (const d of manifest.operations) {
        const handler = impls.handlers.get(d.name);
        if (handler === undefined) throw HostError.coherence(manifest.id, `operation ${quote(d.name)} has no handler`);
        lowered(() => core.register(d, schemaValidatingHandler(d, registry, handler)));
        // Per-operation grants: a module's grant reaches its own operations and no other module's.
        lowered(() => core.grantCapabilities(grants.get(manifest.id) ?? [], { operation: d.name }));
        if (impls.guard !== undefined) guards.set(d.name, impls.guard);
      }
      for (const h of impls.hooks) (h.descriptor.phase === 'startup' ? startup : shutdown).push({ module: manifest.id, ...h });
      for (const [kind, body] of impls.jobs) jobs.set(kind, body);
    }
    const guard = compositeGuard(guards);
    if (guard !== undefined) core.admissionGuard(guard);
    if (this.#receiptSink !== undefined) core.receiptSink(this.#receiptSink);
    else core.withoutReceipts();
    core.statusSink(this.#statusSink);

    const bindings = new Map([...this.#bindings].map(([kind, b]) => [kind, b.ref]));
    let backend: EffectBackend | undefined = this.#backend === undefined ? undefined : new ValidatingEffectBackend(this.#backend, bindings, registry);
    if (this.#controller !== undefined) {
      backend = new HostControlEffectBackend({ controller: this.#controller, ...(backend === undefined ? {} : { inner: backend }) });
    }
    core.effectBackend(backend);

    return newHost({
      core: lowered(() => core.build()),
      fingerprint,
      interfaceFingerprint,
      modules: Object.freeze([...manifests]),
      composition,
      registry,
      startup: Object.freeze(startup.sort(byGlobalOrder)),
      shutdown: Object.freeze(shutdown.sort(byGlobalOrder)),
      jobs,
    });
  }
}
