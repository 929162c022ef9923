// Declarations of a module's non-operation axes: its guard (by policy code), lifecycle hooks and supervised-job kinds.
// Invariant: these are what H_module attests — declarations, never behaviour; hooks sort by (phase ordinal, order, name).

import { cnil, cstr, cstruct, cuint, type CanonicalValue } from '@batpak/core';
import { compareUtf8 } from './order.js';

export type HookPhase = 'startup' | 'shutdown';

export const HOOK_PHASES: readonly HookPhase[] = Object.freeze(['startup', 'shutdown']);

/** Attests that a module guards its operations; `code` names the policy (e.g. `orders.admission.v1`). */
export interface GuardDescriptor {
  readonly code: string;
}

export interface HookDescriptor {
  readonly phase: HookPhase;
  /** Unique within its phase per module by convention; unvalidated, as in Rust. */
  readonly name: string;
  /** u32, module-local; smaller runs first. Across modules ties break by module id, then name. */
  readonly order: number;
}

export interface JobDescriptor {
  /** Globally unique across the host. */
  readonly kind: string;
}

/** Within a module: (phase ordinal, order, name). */
export function compareHooks(a: HookDescriptor, b: HookDescriptor): number {
  return HOOK_PHASES.indexOf(a.phase) - HOOK_PHASES.indexOf(b.phase) || a.order - b.order || compareUtf8(a.name, b.name);
}

export function guardView(guard: GuardDescriptor | undefined): CanonicalValue {
  return guard === undefined ? cnil() : cstruct([['code', cstr(guard.code)]]);
}

export function hookView(h: HookDescriptor): CanonicalValue {
  return cstruct([['phase', cstr(h.phase)], ['name', cstr(h.name)], ['order', cuint(h.order)]]);
}

export function jobView(j: JobDescriptor): CanonicalValue {
  return cstruct([['kind', cstr(j.kind)]]);
}
