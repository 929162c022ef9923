// H_interface: the client-visible identity of a host — operations with resolved schemas, subscriptions, bindings, event payloads.
// Invariant: only what a client sees moves it — including each operation's effect row (its authority); hooks, jobs, guards,
// namespaces and module versions never do.

import { carray, cstr, cstruct, cuint, type CanonicalValue } from '@batpak/core';
import type { HostCompositionManifest } from './composition.js';
import { canonicalDigest, type Digest } from './digest.js';
import { HostError } from './errors.js';
import { effectRowView, type HostModuleManifest } from './manifest.js';
import { compareUtf8, thenBy } from './order.js';
import { schemaIdentityView, type SchemaDescriptor, type SchemaRole } from './schema.js';
import { SUBSCRIPTION_WIRE_REQUIRES, backpressureView, requiredPayloadRole, sourceView } from './subscription.js';

export const INTERFACE_DIGEST_DOMAIN = 'hostbat.interface.v6';
export const INTERFACE_VIEW_SCHEMA_VERSION = 6;
export const WIRE_PROTOCOL_VERSION = 'NETBAT/1';
export const WIRE_ENCODING_VERSION = 'named-field-msgpack:v1';

/** Exactly one schema with this id and role, else HostError from `refuse(versions)`. */
function resolveOne(composition: HostCompositionManifest, ref: string, role: SchemaRole, refuse: (versions: readonly number[]) => HostError): SchemaDescriptor {
  const matches = composition.matching(ref, role);
  if (matches.length !== 1) throw refuse(matches.map((d) => d.version));
  return matches[0]!;
}

/** Every declared subscription's payload schema resolves (build step: before bindings and operations). */
function subscriptionEntries(modules: readonly HostModuleManifest[], composition: HostCompositionManifest) {
  const out: { moduleId: string; id: string; view: CanonicalValue }[] = [];
  for (const m of modules) {
    for (const s of m.subscriptions) {
      const role = requiredPayloadRole(s.source);
      const schema = resolveOne(composition, s.payloadSchemaRef, role, () =>
        new HostError({ kind: 'subscription_payload_schema_missing', module: m.id, subscription: s.id, reference: s.payloadSchemaRef, role }),
      );
      out.push({
        moduleId: m.id,
        id: s.id,
        view: cstruct([
          ['module_id', cstr(m.id)],
          ['id', cstr(s.id)],
          ['source', sourceView(s.source)],
          ['payload_schema', schemaIdentityView(schema)],
          ['delivery', cstr(s.delivery)],
          ['backpressure', backpressureView(s.backpressure)],
        ]),
      });
    }
  }
  return out.sort((a, b) => thenBy(compareUtf8(a.moduleId, b.moduleId), compareUtf8(a.id, b.id)));
}

function bindingEntries(modules: readonly HostModuleManifest[], composition: HostCompositionManifest) {
  const out: { moduleId: string; kind: number; view: CanonicalValue }[] = [];
  for (const m of modules) {
    for (const b of m.eventPayloadBindings) {
      const schema = resolveOne(composition, b.payloadSchemaRef, 'event-payload', () =>
        new HostError({ kind: 'event_payload_binding_schema_missing', module: m.id, eventKind: b.kind, reference: b.payloadSchemaRef }),
      );
      out.push({
        moduleId: m.id,
        kind: b.kind,
        view: cstruct([['module_id', cstr(m.id)], ['kind', cuint(b.kind)], ['payload_schema', schemaIdentityView(schema)]]),
      });
    }
  }
  return out.sort((a, b) => thenBy(compareUtf8(a.moduleId, b.moduleId), a.kind - b.kind));
}

function operationEntries(modules: readonly HostModuleManifest[], composition: HostCompositionManifest) {
  const out: { moduleId: string; name: string; view: CanonicalValue }[] = [];
  for (const m of modules) {
    for (const d of m.operations) {
      const resolve = (ref: string, role: SchemaRole) =>
        resolveOne(composition, ref, role, (versions) =>
          versions.length === 0
            ? new HostError({ kind: 'schema_reference_missing', module: m.id, operation: d.name, reference: ref, role })
            : new HostError({ kind: 'schema_reference_ambiguous', module: m.id, operation: d.name, reference: ref, role, versions }),
        );
      const input = schemaIdentityView(resolve(d.inputSchemaRef, 'operation-input'));
      const output = schemaIdentityView(resolve(d.outputSchemaRef, 'operation-output'));
      const receipt = schemaIdentityView(resolve(d.receiptKind, 'receipt-payload'));
      out.push({
        moduleId: m.id,
        name: d.name,
        view: cstruct([
          ['module_id', cstr(m.id)],
          ['name', cstr(d.name)],
          ['input_schema', input],
          ['output_schema', output],
          ['receipt_kind', cstr(d.receiptKind)],
          ['receipt_schema', receipt],
          ['effect_row', effectRowView(d.effectRow)],
        ]),
      });
    }
  }
  return out.sort((a, b) => thenBy(compareUtf8(a.moduleId, b.moduleId), compareUtf8(a.name, b.name)));
}

/**
 * Resolves every reference in build order — subscription payloads, then binding payloads, then each operation's
 * input, output and receipt schema (so every hosted operation needs all three) — and hashes the interface view.
 */
export function computeInterfaceFingerprint(modules: readonly HostModuleManifest[], composition: HostCompositionManifest): Digest {
  const subscriptions = subscriptionEntries(modules, composition);
  const bindings = bindingEntries(modules, composition);
  const operations = operationEntries(modules, composition);
  // The composition is already in (id, version, role) order, so filtering keeps (id, version) order.
  const exported = composition.schemas.filter((s) => s.descriptor.role === 'event-payload').map((s) => schemaIdentityView(s.descriptor));
  return canonicalDigest(
    cstruct([
      ['domain', cstr(INTERFACE_DIGEST_DOMAIN)],
      ['view_schema_version', cuint(INTERFACE_VIEW_SCHEMA_VERSION)],
      ['wire_protocol_version', cstr(WIRE_PROTOCOL_VERSION)],
      ['wire_encoding_version', cstr(WIRE_ENCODING_VERSION)],
      ['subscription_wire_requires', cstr(SUBSCRIPTION_WIRE_REQUIRES)],
      ['operations', carray(operations.map((o) => o.view))],
      ['subscriptions', carray(subscriptions.map((s) => s.view))],
      ['event_payload_bindings', carray(bindings.map((b) => b.view))],
      ['exported_event_payloads', carray(exported)],
    ]),
  );
}
