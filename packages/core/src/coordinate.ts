// Coordinate: the (entity, scope) address of an event; entity is the stream key and chain anchor.
// Validation follows Rust batpak's order (first failure wins); JS adds one check Rust needs not: well-formed UTF-16.

import { BatpakError } from './errors.js';
import { isWellFormedString } from './encoding/utf16.js';

/** Maximum UTF-8 byte length of `entity` and of `scope`. */
export const COORDINATE_PART_MAX_BYTES = 1024;

const encoder = new TextEncoder();

function invalid(field: 'entity' | 'scope', reason: string): BatpakError {
  return new BatpakError('ERR_INVALID_COORDINATE', `invalid coordinate: ${field} ${reason}`, { details: { field, reason } });
}

function checkComponent(field: 'entity' | 'scope', value: string): void {
  const bytes = encoder.encode(value);
  for (const b of bytes) {
    if (b === 0x00) throw invalid(field, 'contains a NUL byte');
    if (b < 0x20 || b === 0x7f) throw invalid(field, 'contains a forbidden ASCII control character');
  }
  // Rust's CoordinateError texts, word for word after the field name.
  if (value.includes('/') || value.includes('..')) throw invalid(field, 'contains a forbidden path-traversal substring (`..` or `/`)');
  if (value.includes('|') || value.includes('=')) throw invalid(field, 'contains a forbidden identity-separator character (`|` or `=`)');
}

/** Throws ERR_INVALID_COORDINATE unless (entity, scope) is a valid coordinate. */
export function validateCoordinate(entity: unknown, scope: unknown): void {
  if (typeof entity !== 'string') throw invalid('entity', 'is not a string');
  if (typeof scope !== 'string') throw invalid('scope', 'is not a string');
  if (entity.length === 0) throw invalid('entity', 'is empty');
  if (scope.length === 0) throw invalid('scope', 'is empty');
  // Before any UTF-8 encoding: 'a\uD800' would otherwise be stored as (and merge with) 'a\uFFFD'.
  if (!isWellFormedString(entity)) throw invalid('entity', 'contains a lone UTF-16 surrogate');
  if (!isWellFormedString(scope)) throw invalid('scope', 'contains a lone UTF-16 surrogate');
  if (Buffer.byteLength(entity, 'utf8') > COORDINATE_PART_MAX_BYTES) {
    throw invalid('entity', `is longer than ${COORDINATE_PART_MAX_BYTES} bytes`);
  }
  if (Buffer.byteLength(scope, 'utf8') > COORDINATE_PART_MAX_BYTES) {
    throw invalid('scope', `is longer than ${COORDINATE_PART_MAX_BYTES} bytes`);
  }
  checkComponent('entity', entity);
  checkComponent('scope', scope);
}

/**
 * (entity, scope) string pairs that passed validateCoordinate. Validity is a function of the two strings
 * alone and callers rebuild the same few coordinates per operation (a UTF-8 encode and scan each), so a
 * repeat skips the check. Only passes are kept; bounded: emptied when full.
 */
const validPairs = new Map<string, Set<string>>();
let validPairCount = 0;
const VALID_PAIRS_MAX = 4096;

function isKnownValid(entity: unknown, scope: unknown): boolean {
  return typeof entity === 'string' && typeof scope === 'string' && validPairs.get(entity)?.has(scope) === true;
}

function rememberValid(entity: string, scope: string): void {
  if (validPairCount >= VALID_PAIRS_MAX) {
    validPairs.clear();
    validPairCount = 0;
  }
  let scopes = validPairs.get(entity);
  if (scopes === undefined) validPairs.set(entity, (scopes = new Set()));
  if (!scopes.has(scope)) validPairCount++;
  scopes.add(scope);
}

/** True when `x` is a Coordinate this class constructed (validated and frozen); a Proxy or subclass is not one. */
export let isConstructedCoordinate: (x: object) => x is Coordinate;

/** An immutable, validated (entity, scope) pair. Display form `entity@scope`. */
export class Coordinate {
  readonly entity: string;
  readonly scope: string;
  /**
   * Set by this class's own constructor (not a subclass's) after validation: such an object's fields are own,
   * frozen data properties, so an append can take it as it is. A Proxy or a forged instance has no such field.
   */
  readonly #exact: boolean;

  static {
    isConstructedCoordinate = (x: object): x is Coordinate => #exact in x && (x as Coordinate).#exact;
  }

  constructor(entity: string, scope: string) {
    if (!isKnownValid(entity, scope)) {
      validateCoordinate(entity, scope);
      rememberValid(entity, scope);
    }
    this.entity = entity;
    this.scope = scope;
    // Only an exact instance counts: a subclass runs code of its own around this constructor.
    this.#exact = new.target === Coordinate;
    Object.freeze(this);
  }

  equals(other: Coordinate): boolean {
    return this.entity === other.entity && this.scope === other.scope;
  }

  toString(): string {
    return `${this.entity}@${this.scope}`;
  }

  toJSON(): { entity: string; scope: string } {
    return { entity: this.entity, scope: this.scope };
  }
}
