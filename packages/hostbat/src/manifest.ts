// HostModuleManifest: the sealed declaration of one module and its content identity H_module.
// Invariant: H_module = BLAKE3(canonical view of exactly the registered parts), effect rows included — a change of declared
// authority moves it (INV-HOSTBAT-AUTHORITY-FINGERPRINT; Rust leaves rows out, see the README).

import { carray, cnil, cstr, cstruct, cuint, type CanonicalValue } from '@batpak/core';
import { EFFECT_ROW_LISTS, type EffectRow, type EffectRowList, type OperationDescriptor } from '@batpak/syncbat';
import { guardView, hookView, jobView, type GuardDescriptor, type HookDescriptor, type JobDescriptor } from './declarations.js';
import { canonicalDigest, type Digest } from './digest.js';
import { bindingView, type EventPayloadBinding } from './event-payload-binding.js';
import { hexKind } from './quote.js';
import { schemaIdentityView, type SchemaDescriptor, type SchemaDescriptorJson } from './schema.js';
import { subscriptionJson, subscriptionView, type SubscriptionDescriptor } from './subscription.js';

export const MODULE_DIGEST_DOMAIN = 'hostbat.module.v2';

/** Every list already in canonical order (see HostModuleBuilder.build). */
export interface ModuleManifestParts {
  readonly id: string;
  readonly version: number;
  /** Sorted by name. */
  readonly operations: readonly OperationDescriptor[];
  /** Sorted byte-wise. */
  readonly receiptNamespaces: readonly string[];
  readonly guard: GuardDescriptor | undefined;
  /** Sorted by (phase, order, name). */
  readonly hooks: readonly HookDescriptor[];
  /** Sorted by kind. */
  readonly jobs: readonly JobDescriptor[];
  /** Sorted by (id, version, role ordinal). */
  readonly schemas: readonly SchemaDescriptor[];
  /** Sorted by id. */
  readonly subscriptions: readonly SubscriptionDescriptor[];
  /** Sorted by raw kind. */
  readonly eventPayloadBindings: readonly EventPayloadBinding[];
}

export interface OperationJson {
  readonly name: string;
  readonly title?: string;
  readonly effect: string;
  readonly inputSchemaRef: string;
  readonly outputSchemaRef: string;
  readonly receiptKind: string;
  /** The declared row: it decides EffectConflict at mount and is part of H_module and H_interface. */
  readonly effectRow: { readonly [K in EffectRowList]: readonly string[] };
}

/** A module manifest as plain JSON: stable key order, hex digests, lists in canonical order — diff it. */
export interface HostModuleManifestJson {
  readonly id: string;
  readonly version: number;
  readonly digest: string;
  readonly operations: readonly OperationJson[];
  readonly receiptNamespaces: readonly string[];
  readonly guard: GuardDescriptor | null;
  readonly hooks: readonly HookDescriptor[];
  readonly jobs: readonly JobDescriptor[];
  readonly schemas: readonly SchemaDescriptorJson[];
  readonly subscriptions: readonly SubscriptionDescriptor[];
  /** `kind` as `0x%04x`. */
  readonly eventPayloadBindings: readonly { readonly kind: string; readonly payloadSchemaRef: string }[];
}

/** The six lists of a row, Rust spelling, each in its declared order (builder-made rows are sorted and unique). */
export function effectRowView(row: EffectRow): CanonicalValue {
  return cstruct(EFFECT_ROW_LISTS.map(([list, spelling]) => [spelling, carray(row[list].map(cstr))]));
}

function operationView(d: OperationDescriptor): CanonicalValue {
  return cstruct([
    ['name', cstr(d.name)],
    ['effect', cstr(d.effect)],
    ['input_schema_ref', cstr(d.inputSchemaRef)],
    ['output_schema_ref', cstr(d.outputSchemaRef)],
    ['receipt_kind', cstr(d.receiptKind)],
    ['title', d.title === undefined ? cnil() : cstr(d.title)],
    ['effect_row', effectRowView(d.effectRow)],
  ]);
}

/** The canonical view H_module hashes, field for field in Rust's order. */
export function moduleManifestView(p: ModuleManifestParts): CanonicalValue {
  return cstruct([
    ['domain', cstr(MODULE_DIGEST_DOMAIN)],
    ['id', cstr(p.id)],
    ['version', cuint(p.version)],
    ['operations', carray(p.operations.map(operationView))],
    ['receipt_namespaces', carray(p.receiptNamespaces.map(cstr))],
    ['guard', guardView(p.guard)],
    ['hooks', carray(p.hooks.map(hookView))],
    ['jobs', carray(p.jobs.map(jobView))],
    ['schemas', carray(p.schemas.map(schemaIdentityView))],
    ['subscriptions', carray(p.subscriptions.map(subscriptionView))],
    ['event_payload_bindings', carray(p.eventPayloadBindings.map(bindingView))],
  ]);
}

let seal: (parts: ModuleManifestParts) => HostModuleManifest;
let forge: (manifest: HostModuleManifest, digest: Digest) => HostModuleManifest;

/** Internal (HostModuleBuilder.build): seals canonically ordered parts; the digest is computed once, here. */
export function sealManifest(parts: ModuleManifestParts): HostModuleManifest {
  return seal(parts);
}

export class HostModuleManifest {
  readonly #parts: ModuleManifestParts;
  readonly #digest: Digest;

  static {
    seal = (parts) => new HostModuleManifest(parts, canonicalDigest(moduleManifestView(parts)));
    forge = (manifest, digest) => new HostModuleManifest(manifest.#parts, digest);
  }

  private constructor(parts: ModuleManifestParts, digest: Digest) {
    this.#parts = parts;
    this.#digest = digest;
    Object.freeze(this);
  }

  /** Recomputes H_module from the stored parts; false means the manifest does not match its declaration. */
  verifyHash(): boolean {
    return canonicalDigest(moduleManifestView(this.#parts)).equals(this.#digest);
  }

  get id(): string {
    return this.#parts.id;
  }
  get version(): number {
    return this.#parts.version;
  }
  /** H_module. */
  get digest(): Digest {
    return this.#digest;
  }
  get operations(): readonly OperationDescriptor[] {
    return this.#parts.operations;
  }
  get receiptNamespaces(): readonly string[] {
    return this.#parts.receiptNamespaces;
  }
  get guard(): GuardDescriptor | undefined {
    return this.#parts.guard;
  }
  get hooks(): readonly HookDescriptor[] {
    return this.#parts.hooks;
  }
  get jobs(): readonly JobDescriptor[] {
    return this.#parts.jobs;
  }
  get schemas(): readonly SchemaDescriptor[] {
    return this.#parts.schemas;
  }
  get subscriptions(): readonly SubscriptionDescriptor[] {
    return this.#parts.subscriptions;
  }
  get eventPayloadBindings(): readonly EventPayloadBinding[] {
    return this.#parts.eventPayloadBindings;
  }

  toJSON(): HostModuleManifestJson {
    const p = this.#parts;
    return {
      id: p.id,
      version: p.version,
      digest: this.#digest.toHex(),
      operations: p.operations.map((d) => ({
        name: d.name,
        ...(d.title === undefined ? {} : { title: d.title }),
        effect: d.effect,
        inputSchemaRef: d.inputSchemaRef,
        outputSchemaRef: d.outputSchemaRef,
        receiptKind: d.receiptKind,
        effectRow: d.effectRow.toJSON(),
      })),
      receiptNamespaces: [...p.receiptNamespaces],
      guard: p.guard === undefined ? null : { code: p.guard.code },
      hooks: p.hooks.map((h) => ({ phase: h.phase, name: h.name, order: h.order })),
      jobs: p.jobs.map((j) => ({ kind: j.kind })),
      schemas: p.schemas.map((s) => s.toJSON()),
      subscriptions: p.subscriptions.map(subscriptionJson),
      eventPayloadBindings: p.eventPayloadBindings.map((b) => ({ kind: hexKind(b.kind), payloadSchemaRef: b.payloadSchemaRef })),
    };
  }
}

/**
 * A manifest whose stored digest is `digest` whatever its parts say. Internal (not exported from the package):
 * it manufactures the tampered manifest the ModuleHashMismatch tests prove the host refuses.
 */
export function manifestWithDigest(manifest: HostModuleManifest, digest: Digest): HostModuleManifest {
  return forge(manifest, digest);
}
