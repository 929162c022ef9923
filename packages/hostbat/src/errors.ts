// HostError: every way composing, building or running a host says no — one class, one stable code per reason.
// Invariant: `code` is `ERR_` + the upper-cased `detail.kind`; codes are API and are only ever added, never renamed.

import type { HookPhase } from './declarations.js';
import { hexKind, quote } from './quote.js';

/** What went wrong, by Rust `HostError` / `HostRuntimeError` variant (snake_case `kind`). */
export type HostErrorDetail =
  // Wiring: modules against each other, and the host as a whole.
  | { readonly kind: 'duplicate_module_id'; readonly id: string }
  | { readonly kind: 'duplicate_operation'; readonly operation: string; readonly module: string }
  | { readonly kind: 'effect_conflict'; readonly operation: string; readonly module: string }
  | { readonly kind: 'duplicate_receipt_namespace'; readonly namespace: string; readonly module: string }
  | { readonly kind: 'duplicate_job_kind'; readonly jobKind: string; readonly module: string }
  | { readonly kind: 'duplicate_subscription_id'; readonly id: string; readonly module: string }
  | { readonly kind: 'module_hash_mismatch'; readonly module: string }
  | { readonly kind: 'module_coherence'; readonly module: string; readonly detail: string }
  | { readonly kind: 'empty_host' }
  /** A capability was granted to a module id that is not mounted. */
  | { readonly kind: 'grant_unknown_module'; readonly module: string; readonly capability: string }
  /** Lowering into syncbat's CoreBuilder failed; `cause` is the syncbat BuildError. */
  | { readonly kind: 'build'; readonly message: string }
  // Encoding.
  | { readonly kind: 'canonical_encoding'; readonly detail: string }
  // Schemas.
  | { readonly kind: 'schema_invalid'; readonly schema: string; readonly detail: string }
  | {
      readonly kind: 'schema_collision';
      readonly schema: string;
      readonly version: number;
      readonly role: string;
      readonly firstModule: string;
      readonly firstEncoding: string;
      readonly secondModule: string;
      readonly secondEncoding: string;
    }
  | { readonly kind: 'schema_reference_missing'; readonly module: string; readonly operation?: string; readonly reference: string; readonly role: string }
  | {
      readonly kind: 'schema_reference_ambiguous';
      readonly module: string;
      readonly operation?: string;
      readonly reference: string;
      readonly role: string;
      readonly versions: readonly number[];
    }
  | { readonly kind: 'schema_validation'; readonly schema: string; readonly role: string; readonly detail: string }
  // Subscription declarations.
  | { readonly kind: 'subscription_invalid_id'; readonly id: string; readonly detail: string }
  | { readonly kind: 'subscription_invalid_projection_id'; readonly id: string; readonly detail: string }
  | { readonly kind: 'subscription_duplicate_within_module'; readonly module: string; readonly id: string }
  | { readonly kind: 'subscription_reserved_category'; readonly category: number }
  | {
      readonly kind: 'subscription_payload_schema_missing';
      readonly module: string;
      readonly subscription: string;
      readonly reference: string;
      readonly role: string;
    }
  // Event-payload bindings.
  | { readonly kind: 'event_payload_binding_invalid'; readonly eventKind: number; readonly detail: string }
  | { readonly kind: 'event_payload_binding_duplicate_within_module'; readonly module: string; readonly eventKind: number }
  | { readonly kind: 'duplicate_event_payload_binding'; readonly eventKind: number; readonly module: string; readonly reference: string }
  | {
      readonly kind: 'event_payload_binding_conflict';
      readonly eventKind: number;
      readonly firstModule: string;
      readonly firstReference: string;
      readonly secondModule: string;
      readonly secondReference: string;
    }
  | { readonly kind: 'event_payload_binding_schema_missing'; readonly module: string; readonly eventKind: number; readonly reference: string }
  // Runtime (Rust HostRuntimeError): lifecycle and jobs.
  | { readonly kind: 'startup_hook'; readonly module: string; readonly hook: string; readonly detail: string }
  | { readonly kind: 'shutdown_hook'; readonly module: string; readonly hook: string; readonly detail: string }
  | { readonly kind: 'unknown_job_kind'; readonly jobKind: string }
  | { readonly kind: 'spawn'; readonly jobKind: string; readonly detail: string };

export type HostErrorKind = HostErrorDetail['kind'];

type Upper<S extends string> = S extends `${infer H}_${infer T}` ? `${Uppercase<H>}_${Upper<T>}` : Uppercase<S>;
export type HostErrorCode = `ERR_${Upper<HostErrorKind>}`;

const KINDS: readonly HostErrorKind[] = [
  'duplicate_module_id',
  'duplicate_operation',
  'effect_conflict',
  'duplicate_receipt_namespace',
  'duplicate_job_kind',
  'duplicate_subscription_id',
  'module_hash_mismatch',
  'module_coherence',
  'empty_host',
  'grant_unknown_module',
  'build',
  'canonical_encoding',
  'schema_invalid',
  'schema_collision',
  'schema_reference_missing',
  'schema_reference_ambiguous',
  'schema_validation',
  'subscription_invalid_id',
  'subscription_invalid_projection_id',
  'subscription_duplicate_within_module',
  'subscription_reserved_category',
  'subscription_payload_schema_missing',
  'event_payload_binding_invalid',
  'event_payload_binding_duplicate_within_module',
  'duplicate_event_payload_binding',
  'event_payload_binding_conflict',
  'event_payload_binding_schema_missing',
  'startup_hook',
  'shutdown_hook',
  'unknown_job_kind',
  'spawn',
];

/** Every code, in the order of the README table. */
export const HOST_ERROR_CODES: readonly HostErrorCode[] = Object.freeze(KINDS.map((k) => `ERR_${k.toUpperCase()}` as HostErrorCode));

function hookFailure(phase: HookPhase, d: { module: string; hook: string; detail: string }): string {
  return `${phase} hook ${quote(d.hook)} of module ${quote(d.module)} failed: ${d.detail}`;
}

function inOperation(d: { module: string; operation?: string }): string {
  return d.operation === undefined ? `module ${quote(d.module)}` : `operation ${quote(d.operation)} of module ${quote(d.module)}`;
}

function describe(d: HostErrorDetail): string {
  switch (d.kind) {
    case 'duplicate_module_id':
      return `module id ${quote(d.id)} is already mounted`;
    case 'duplicate_operation':
      return `operation ${quote(d.operation)} re-declared by module ${quote(d.module)} is already mounted`;
    case 'effect_conflict':
      return `operation ${quote(d.operation)} re-declared by module ${quote(d.module)} with a different effect row`;
    case 'duplicate_receipt_namespace':
      return `receipt namespace ${quote(d.namespace)} re-claimed by module ${quote(d.module)} is already mounted`;
    case 'duplicate_job_kind':
      return `supervised-job kind ${quote(d.jobKind)} re-declared by module ${quote(d.module)} is already mounted`;
    case 'duplicate_subscription_id':
      return `subscription id ${quote(d.id)} re-declared by module ${quote(d.module)} is already mounted`;
    case 'module_hash_mismatch':
      return `module ${quote(d.module)} manifest hash does not match its declared parts`;
    case 'module_coherence':
      return `module ${quote(d.module)} is incoherent: ${d.detail}`;
    case 'empty_host':
      return 'cannot build a host with no mounted modules';
    case 'grant_unknown_module':
      return `capability ${quote(d.capability)} is granted to module ${quote(d.module)}, which is not mounted`;
    case 'build':
      return `lowering into the syncbat runtime failed: ${d.message}`;
    case 'canonical_encoding':
      return `canonical encoding failed: ${d.detail}`;
    case 'schema_invalid':
      return `schema ${quote(d.schema)} is invalid: ${d.detail}`;
    case 'schema_collision':
      return (
        `schema ${quote(d.schema)} v${d.version} (${d.role}) declared with conflicting encodings: ` +
        `module ${quote(d.firstModule)} => ${d.firstEncoding}, module ${quote(d.secondModule)} => ${d.secondEncoding}`
      );
    case 'schema_reference_missing':
      return `${inOperation(d)} references ${d.role} schema ${quote(d.reference)}, which no mounted module declares`;
    case 'schema_reference_ambiguous':
      return `${inOperation(d)} references ${d.role} schema ${quote(d.reference)}, which is ambiguous across versions [${d.versions.join(', ')}]`;
    case 'schema_validation':
      return `schema ${quote(d.schema)} (${d.role}) validation failed: ${d.detail}`;
    case 'subscription_invalid_id':
      return `subscription id ${quote(d.id)} is invalid: ${d.detail}`;
    case 'subscription_invalid_projection_id':
      return `projection id ${quote(d.id)} is invalid: ${d.detail}`;
    case 'subscription_duplicate_within_module':
      return `subscription id ${quote(d.id)} is declared twice in module ${quote(d.module)}`;
    case 'subscription_reserved_category':
      return `event category ${d.category} is reserved or out of range for subscriptions`;
    case 'subscription_payload_schema_missing':
      return `subscription ${quote(d.subscription)} of module ${quote(d.module)} needs exactly one ${d.role} schema ${quote(d.reference)}`;
    case 'event_payload_binding_invalid':
      return `event payload binding for kind ${hexKind(d.eventKind)} is invalid: ${d.detail}`;
    case 'event_payload_binding_duplicate_within_module':
      return `event kind ${hexKind(d.eventKind)} is bound twice in module ${quote(d.module)}`;
    case 'duplicate_event_payload_binding':
      return `event kind ${hexKind(d.eventKind)} re-bound to ${quote(d.reference)} by module ${quote(d.module)} is already mounted`;
    case 'event_payload_binding_conflict':
      return (
        `event kind ${hexKind(d.eventKind)} is bound to conflicting schemas: ` +
        `module ${quote(d.firstModule)} => ${quote(d.firstReference)}, module ${quote(d.secondModule)} => ${quote(d.secondReference)}`
      );
    case 'event_payload_binding_schema_missing':
      return `event kind ${hexKind(d.eventKind)} of module ${quote(d.module)} needs exactly one event-payload schema ${quote(d.reference)}`;
    case 'startup_hook':
      return `host startup failed: ${hookFailure('startup', d)}`;
    case 'shutdown_hook':
      return `host shutdown failed: ${hookFailure('shutdown', d)}`;
    case 'unknown_job_kind':
      return `no mounted module declares supervised-job kind ${quote(d.jobKind)}`;
    case 'spawn':
      return `supervisor could not spawn job ${quote(d.jobKind)}: ${d.detail}`;
  }
}

export class HostError extends Error {
  override readonly name = 'HostError';
  readonly code: HostErrorCode;
  readonly detail: HostErrorDetail;

  constructor(detail: HostErrorDetail, options?: { cause?: unknown }) {
    super(describe(detail), options);
    this.detail = Object.freeze(detail);
    this.code = `ERR_${detail.kind.toUpperCase()}` as HostErrorCode;
  }

  /** Shorthand for the most common refusal: a module that contradicts itself. */
  static coherence(module: string, detail: string): HostError {
    return new HostError({ kind: 'module_coherence', module, detail });
  }
}

export function isHostError(value: unknown): value is HostError {
  return value instanceof HostError;
}

/** The message of anything thrown, for details that quote a foreign failure. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
