// Id grammars of hostbat: module ids, schema ids and projection ids (lowercase, unlike syncbat operation names).
// Invariant: checks run in Rust's order and return Rust's detail strings; undefined means the id is valid.

import { utf8Length } from './order.js';

const LOWER_ID = /^[a-z0-9._-]*$/;

/** Module id: non-empty, ≤ 128 bytes, no leading/trailing/doubled dot, `[a-z0-9._-]`. Detail without the prefix. */
export function moduleIdViolation(id: string): string | undefined {
  if (id.length === 0) return 'empty';
  if (utf8Length(id) > 128) return 'longer than 128 bytes';
  if (id.startsWith('.') || id.endsWith('.')) return "leading or trailing '.'";
  if (id.includes('..')) return "doubled '.'";
  if (!LOWER_ID.test(id)) return 'characters outside [a-z0-9._-]';
  return undefined;
}

/** Schema id: the module-id rules with a 256-byte bound. */
export function schemaIdViolation(id: string): string | undefined {
  if (id.length === 0) return 'empty schema id';
  if (utf8Length(id) > 256) return 'schema id longer than 256 bytes';
  if (id.startsWith('.') || id.endsWith('.')) return "schema id has a leading or trailing '.'";
  if (id.includes('..')) return "schema id has a doubled '.'";
  if (!LOWER_ID.test(id)) return 'schema id has characters outside [a-z0-9._-]';
  return undefined;
}

/** Projection id: ≤ 128 bytes of `[a-z0-9._-]`; dots are unconstrained and (as in Rust) empty is accepted. */
export function projectionIdViolation(id: string): string | undefined {
  if (utf8Length(id) > 128) return 'component id longer than maximum';
  if (!LOWER_ID.test(id)) return 'component id has characters outside [a-z0-9._-]';
  return undefined;
}

export function isU32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff;
}

export function isU16(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff;
}
