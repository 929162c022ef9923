// Admission guard: one optional policy per Core that may deny a checkout before its handler runs.
// Invariant: a guard sees the same Ctx as the handler, so metadata it stamps survives into the receipt either way.

import type { Ctx } from './ctx.js';
import type { OperationDescriptor } from './descriptor.js';

export type AdmissionDecision =
  | { readonly admit: true }
  | { readonly admit: false; readonly code: string; readonly message: string };

/** Decides whether a checkout may run. A guard that throws denies (fail closed) with code `admission.failed`. */
export type AdmissionGuard = (
  descriptor: OperationDescriptor,
  input: Uint8Array,
  ctx: Ctx,
) => AdmissionDecision | Promise<AdmissionDecision>;

const ADMIT: AdmissionDecision = Object.freeze({ admit: true });

export function admit(): AdmissionDecision {
  return ADMIT;
}

/** `code` and `message` are caller-defined and land verbatim in the Denied receipt and status fact. */
export function deny(code: string, message: string): AdmissionDecision {
  return Object.freeze({ admit: false, code, message });
}
