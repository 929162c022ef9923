// The caller of one dispatch (a network client, a tenant): whose authority the checkout runs under, and whose receipt it is.
// Invariant: with a caller, a required capability must be granted by the host AND held by the caller; the receipt names the caller's principal and nobody else can stamp that key.

import { isAmbientCapability } from './effect-row.js';

/** Who asked for a dispatch, as the embedding server authenticated it. */
export interface Caller {
  /** Authenticated identity, recorded in the receipt's signed drawer at {@link CALLER_PRINCIPAL_KEY}. */
  readonly principal: string;
  /** What this caller holds. Required non-ambient capabilities must be in the host grants and here. */
  readonly capabilities: readonly string[];
}

/** Signed-drawer key of the caller's principal (UTF-8). Written by the Core only. */
export const CALLER_PRINCIPAL_KEY = 'syncbat.caller.principal';

const utf8 = new TextEncoder();

/** A frozen private copy, so the caller's arrays cannot change under a running checkout; TypeError on a bad shape. */
export function checkCaller(value: unknown): Caller | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) throw new TypeError('dispatch caller must be { principal, capabilities }');
  const { principal, capabilities } = value as { principal?: unknown; capabilities?: unknown };
  if (typeof principal !== 'string' || principal.length === 0) throw new TypeError('dispatch caller principal must be a non-empty string');
  if (!Array.isArray(capabilities) || !capabilities.every((c) => typeof c === 'string')) {
    throw new TypeError('dispatch caller capabilities must be an array of strings');
  }
  return Object.freeze({ principal, capabilities: Object.freeze([...(capabilities as string[])]) });
}

/**
 * The first required non-ambient token the caller does not hold (checked after the host grants): a host grant
 * is a ceiling, never a gift to every caller. Ambient tokens only mirror the operation's declared effect axes
 * (checked as effects), so they are never asked of a caller.
 */
export function missingForCaller(required: readonly string[], caller: Caller | undefined): string | undefined {
  if (caller === undefined) return undefined;
  const held = new Set(caller.capabilities);
  return required.find((t) => !isAmbientCapability(t) && !held.has(t));
}

/** The signed drawer with the caller's principal stamped in (and any handler-made copy of that key dropped). */
export function stampCaller(signed: ReadonlyMap<string, Uint8Array>, caller: Caller | undefined): ReadonlyMap<string, Uint8Array> {
  if (caller === undefined && !signed.has(CALLER_PRINCIPAL_KEY)) return signed;
  const out = new Map(signed);
  out.delete(CALLER_PRINCIPAL_KEY);
  if (caller !== undefined) out.set(CALLER_PRINCIPAL_KEY, utf8.encode(caller.principal));
  return out;
}
