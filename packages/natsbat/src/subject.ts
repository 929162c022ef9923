// The subject scheme: `<prefix>.<name>.<entity token>`, one subject per entity of one store, so a
// consumer can filter one entity's chain. Invariant: entityToken is injective and NATS-safe.

import { blake3, toHex } from '@batpak/core';
import { NatsbatError } from './errors.js';

/** Bytes kept as they are in an entity token; every other UTF-8 byte becomes `%XX`. */
const SAFE_BYTE = /^[A-Za-z0-9_-]$/;
/** One subject token we accept in names and prefixes: no separators, wildcards, spaces or `$`. */
const TOKEN = /^[A-Za-z0-9_-]+$/;
/** Longer escaped entities are replaced by `%h` + blake3 hex, keeping every subject short. */
export const ENTITY_TOKEN_MAX = 256;

const utf8 = new TextEncoder();

/**
 * The subject token of an entity: bytes in [A-Za-z0-9_-] as they are, every other UTF-8 byte as `%`
 * and two uppercase hex digits (so `.`, `*`, `>`, spaces and `%` itself can never reach the subject).
 * An escaped token longer than ENTITY_TOKEN_MAX is `%h` + the 64 hex digits of blake3(entity): `%h`
 * never occurs in an escaped token (h is not a hex digit), so the mapping stays injective.
 */
export function entityToken(entity: string): string {
  let out = '';
  for (const byte of utf8.encode(entity)) {
    const ch = String.fromCharCode(byte);
    out += SAFE_BYTE.test(ch) ? ch : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out.length <= ENTITY_TOKEN_MAX ? out : `%h${toHex(blake3(utf8.encode(entity)))}`;
}

/** `<prefix>.<name>`: the subjects of one store's export all start with it. */
export function subjectBase(prefix: string, name: string): string {
  checkPrefix(prefix);
  checkToken(name, 'name');
  return `${prefix}.${name}`;
}

/** The subject an event of `entity` is published on. */
export function subjectFor(base: string, entity: string): string {
  return `${base}.${entityToken(entity)}`;
}

/** A name used as one subject token or a stream name: [A-Za-z0-9_-], 1..64 characters. */
export function checkToken(value: unknown, field: string): asserts value is string {
  if (typeof value !== 'string' || value.length > 64 || !TOKEN.test(value)) {
    throw NatsbatError.INVALID_OPTION(`${field} must be 1..64 characters of A-Z a-z 0-9 _ -`, field);
  }
}

function checkPrefix(prefix: unknown): asserts prefix is string {
  if (typeof prefix !== 'string' || prefix.length > 128 || !prefix.split('.').every((t) => TOKEN.test(t))) {
    throw NatsbatError.INVALID_OPTION('subjectPrefix must be dot-separated tokens of A-Z a-z 0-9 _ - (no wildcards)', 'subjectPrefix');
  }
}
