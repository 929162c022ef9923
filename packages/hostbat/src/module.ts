// HostModule and its builder: operations with handlers, one guard, hooks, jobs, schemas, subscriptions and bindings, sealed together.
// Invariant: the manifest is derived from exactly the registered parts (no other constructor), so declaration and implementation cannot drift.

import { EffectRow, snapshotDescriptor, validateDescriptor, type AdmissionGuard, type Handler, type Operation, type OperationDescriptor } from '@batpak/syncbat';
import type { EventKind } from '@batpak/core';
import { compareHooks, HOOK_PHASES, type GuardDescriptor, type HookDescriptor, type HookPhase, type JobDescriptor } from './declarations.js';
import { HostError } from './errors.js';
import { eventPayloadBinding, type EventPayloadBinding } from './event-payload-binding.js';
import { isU32, moduleIdViolation } from './grammar.js';
import { sealManifest, type HostModuleManifest } from './manifest.js';
import { compareUtf8 } from './order.js';
import { quote } from './quote.js';
import { compareSchemaKeys, SchemaDescriptor, type SchemaDescriptorInit } from './schema.js';
import { subscriptionDescriptor, type SubscriptionDescriptor, type SubscriptionDescriptorInit } from './subscription.js';

/** Runs once at start or shutdown. Throwing (or rejecting) is the failure; its message becomes the detail. */
export type LifecycleHook = () => void | Promise<void>;

/** A supervised job body; spawned fresh by each `host.spawnJob(kind)`. `signal` aborts when the host shuts down. */
export type JobBody = (signal: AbortSignal) => void | Promise<void>;

export interface ModuleHook {
  readonly descriptor: HookDescriptor;
  readonly run: LifecycleHook;
}

/** The implementations a manifest attests; only the host reads them. */
export interface ModuleImpls {
  readonly handlers: ReadonlyMap<string, Handler>;
  readonly guard: AdmissionGuard | undefined;
  /** Sorted by (phase, order, name). */
  readonly hooks: readonly ModuleHook[];
  readonly jobs: ReadonlyMap<string, JobBody>;
}

const IMPLS = new WeakMap<HostModule, ModuleImpls>();

let create: (manifest: HostModuleManifest, impls: ModuleImpls) => HostModule;

/** A built module: its sealed manifest (H_module) plus the implementations it attests. Mount it on a HostBuilder. */
export class HostModule {
  readonly manifest: HostModuleManifest;

  static {
    create = (manifest, impls) => {
      const m = new HostModule(manifest);
      IMPLS.set(m, impls);
      return Object.freeze(m);
    };
  }

  private constructor(manifest: HostModuleManifest) {
    this.manifest = manifest;
  }

  static builder(id: string, version: number): HostModuleBuilder {
    return new HostModuleBuilder(id, version);
  }

  get id(): string {
    return this.manifest.id;
  }
}

/** The implementations behind a module built by HostModuleBuilder, or undefined for anything else. */
export function moduleImpls(module: HostModule): ModuleImpls | undefined {
  return IMPLS.get(module);
}

/** The same implementations under another manifest. Internal: tamper tests use it to forge a module. */
export function moduleWithManifest(module: HostModule, manifest: HostModuleManifest): HostModule {
  const impls = IMPLS.get(module);
  if (impls === undefined) throw new TypeError('not a built HostModule');
  return create(manifest, impls);
}

function schemaKey(s: SchemaDescriptor): string {
  return `${s.id}\u0000${s.version}\u0000${s.role}`;
}

export class HostModuleBuilder {
  readonly #id: string;
  readonly #version: number;
  readonly #operations = new Map<string, { descriptor: OperationDescriptor; handler: Handler }>();
  readonly #namespaces: string[] = [];
  #guard: { descriptor: GuardDescriptor; guard: AdmissionGuard } | undefined;
  readonly #hooks: ModuleHook[] = [];
  readonly #jobs = new Map<string, JobBody>();
  readonly #schemas = new Map<string, SchemaDescriptor>();
  readonly #subscriptions = new Map<string, SubscriptionDescriptor>();
  readonly #bindings = new Map<number, EventPayloadBinding>();

  /** `id` is checked at build(); `version` is a u32 (TypeError otherwise). */
  constructor(id: string, version: number) {
    if (typeof id !== 'string') throw new TypeError('module id must be a string');
    if (!isU32(version)) throw new TypeError(`module version must be a u32, got ${String(version)}`);
    this.#id = id;
    this.#version = version;
  }

  /** An operation from syncbat's `defineOperation`, or a descriptor with its handler. */
  operation(operation: Operation): this;
  operation(descriptor: OperationDescriptor, handler: Handler): this;
  operation(first: Operation | OperationDescriptor, handler?: Handler): this {
    const [given, h] = 'descriptor' in first && 'handler' in first ? [first.descriptor, first.handler] : [first as OperationDescriptor, handler];
    if (typeof h !== 'function') throw new TypeError('operation needs a handler function');
    if (typeof given !== 'object' || given === null || !(given.effectRow instanceof EffectRow)) {
      throw new TypeError('not an operation descriptor (use operationDescriptor or defineOperation from @batpak/syncbat)');
    }
    // A plain-data copy: what the manifest hashes is what the host will dispatch against, whatever `given` does later.
    const descriptor = snapshotDescriptor(given);
    const invalid = validateDescriptor(descriptor);
    if (invalid !== undefined) throw HostError.coherence(this.#id, invalid.message);
    if (this.#operations.has(descriptor.name)) throw HostError.coherence(this.#id, `operation ${quote(descriptor.name)} is declared twice`);
    this.#operations.set(descriptor.name, { descriptor, handler: h });
    return this;
  }

  /** The module's one admission guard; `descriptor.code` (or a bare code string) names its policy in H_module. */
  guard(descriptor: GuardDescriptor | string, guard: AdmissionGuard): this {
    const code = typeof descriptor === 'string' ? descriptor : descriptor?.code;
    if (typeof code !== 'string') throw new TypeError('guard descriptor needs a string code');
    if (typeof guard !== 'function') throw new TypeError('guard must be a function');
    if (this.#guard !== undefined) throw HostError.coherence(this.#id, 'a module mounts at most one guard');
    this.#guard = { descriptor: Object.freeze({ code }), guard };
    return this;
  }

  /** A receipt-extension namespace this module owns (unvalidated, as in Rust; unique across the host). */
  receiptNamespace(namespace: string): this {
    if (typeof namespace !== 'string') throw new TypeError('receipt namespace must be a string');
    if (this.#namespaces.includes(namespace)) throw HostError.coherence(this.#id, `receipt namespace ${quote(namespace)} is declared twice`);
    this.#namespaces.push(namespace);
    return this;
  }

  /** A schema this module declares; a second (id, version, role) in one module is HostError `ERR_SCHEMA_INVALID`. */
  schema(schema: SchemaDescriptor | SchemaDescriptorInit): this {
    const s = schema instanceof SchemaDescriptor ? schema : new SchemaDescriptor(schema);
    if (this.#schemas.has(schemaKey(s))) {
      throw new HostError({ kind: 'schema_invalid', schema: s.id, detail: `v${s.version} (${s.role}) is declared twice in module ${quote(this.#id)}` });
    }
    this.#schemas.set(schemaKey(s), s);
    return this;
  }

  /** A declared subscription (declaration only: the embedder registers the syncbat route that serves it). */
  subscription(subscription: SubscriptionDescriptor | SubscriptionDescriptorInit): this {
    const s = subscriptionDescriptor(subscription);
    if (this.#subscriptions.has(s.id)) throw new HostError({ kind: 'subscription_duplicate_within_module', module: this.#id, id: s.id });
    this.#subscriptions.set(s.id, s);
    return this;
  }

  /** Host-mediated appends of `kind` must carry a payload that passes event-payload schema `schemaRef`. */
  bindEventPayload(kind: EventKind | number, schemaRef: string): this {
    const b = eventPayloadBinding(kind, schemaRef);
    if (this.#bindings.has(b.kind)) throw new HostError({ kind: 'event_payload_binding_duplicate_within_module', module: this.#id, eventKind: b.kind });
    this.#bindings.set(b.kind, b);
    return this;
  }

  /** A lifecycle hook; `order` (u32) is module-local, and two hooks of one phase may not share it (checked at build). */
  hook(phase: HookPhase, name: string, order: number, run: LifecycleHook): this {
    if (!HOOK_PHASES.includes(phase)) throw new TypeError("hook phase must be 'startup' or 'shutdown'");
    if (typeof name !== 'string') throw new TypeError('hook name must be a string');
    if (!isU32(order)) throw new TypeError(`hook order must be a u32, got ${String(order)}`);
    if (typeof run !== 'function') throw new TypeError('hook must be a function');
    this.#hooks.push({ descriptor: Object.freeze({ phase, name, order }), run });
    return this;
  }

  /** A supervised-job kind (unique across the host) and the body each spawn runs. */
  job(kind: string, body: JobBody): this {
    if (typeof kind !== 'string') throw new TypeError('job kind must be a string');
    if (typeof body !== 'function') throw new TypeError('job body must be a function');
    if (this.#jobs.has(kind)) throw HostError.coherence(this.#id, `supervised-job kind ${quote(kind)} is declared twice`);
    this.#jobs.set(kind, body);
    return this;
  }

  /** Checks the id, that the module declares something, and hook orders; then seals the manifest. */
  build(): HostModule {
    const id = this.#id;
    const bad = moduleIdViolation(id);
    if (bad !== undefined) throw HostError.coherence(id, `invalid module id: ${bad}`);
    const declaresNothing =
      this.#operations.size === 0 &&
      this.#hooks.length === 0 &&
      this.#jobs.size === 0 &&
      this.#guard === undefined &&
      this.#schemas.size === 0 &&
      this.#subscriptions.size === 0 &&
      this.#bindings.size === 0;
    if (declaresNothing) throw HostError.coherence(id, 'module declares no operations, hooks, jobs, guard, schemas, subscriptions, or event payload bindings');

    const hooks = [...this.#hooks].sort((a, b) => compareHooks(a.descriptor, b.descriptor));
    for (let i = 1; i < hooks.length; i++) {
      const [a, b] = [hooks[i - 1]!.descriptor, hooks[i]!.descriptor];
      if (a.phase === b.phase && a.order === b.order) throw HostError.coherence(id, `two ${a.phase} hooks share order ${a.order} (ambiguous ordering)`);
    }

    const ops = [...this.#operations.values()].sort((a, b) => compareUtf8(a.descriptor.name, b.descriptor.name));
    const jobKinds = [...this.#jobs.keys()].sort(compareUtf8);
    const manifest = sealManifest(
      Object.freeze({
        id,
        version: this.#version,
        operations: Object.freeze(ops.map((o) => o.descriptor)),
        receiptNamespaces: Object.freeze([...this.#namespaces].sort(compareUtf8)),
        guard: this.#guard?.descriptor,
        hooks: Object.freeze(hooks.map((h) => h.descriptor)),
        jobs: Object.freeze(jobKinds.map((kind): JobDescriptor => Object.freeze({ kind }))),
        schemas: Object.freeze([...this.#schemas.values()].sort(compareSchemaKeys)),
        subscriptions: Object.freeze([...this.#subscriptions.values()].sort((a, b) => compareUtf8(a.id, b.id))),
        eventPayloadBindings: Object.freeze([...this.#bindings.values()].sort((a, b) => a.kind - b.kind)),
      }),
    );
    return create(
      manifest,
      Object.freeze({
        handlers: new Map(ops.map((o) => [o.descriptor.name, o.handler])),
        guard: this.#guard?.guard,
        hooks: Object.freeze(hooks),
        jobs: new Map(jobKinds.map((k) => [k, this.#jobs.get(k)!])),
      }),
    );
  }
}
