// SchemaDescriptor: a language-neutral wire-shape declaration — (id, version, role) plus the content hash of its golden vectors.
// Invariant: encoding = BLAKE3(canonical {domain "hostbat.schema.v3", id, version, role, golden sorted by case}); diagnosticType never counts.

import { carray, cbytesArray, cstr, cstruct, cuint, toHex, type CanonicalValue } from '@batpak/core';
import { canonicalDigest, type Digest } from './digest.js';
import { HostError } from './errors.js';
import { isU32, schemaIdViolation } from './grammar.js';
import { compareUtf8 } from './order.js';
import { quote } from './quote.js';

export const SCHEMA_ENCODING_DOMAIN = 'hostbat.schema.v3';

/** Roles in Rust declaration order: the order is the sort key wherever schemas are listed. */
export const SCHEMA_ROLES = Object.freeze([
  'operation-input',
  'operation-output',
  'event-payload',
  'receipt-payload',
  'subscription-payload',
] as const);

export type SchemaRole = (typeof SCHEMA_ROLES)[number];

export function isSchemaRole(value: unknown): value is SchemaRole {
  return typeof value === 'string' && (SCHEMA_ROLES as readonly string[]).includes(value);
}

/** Compares roles by declaration ordinal, never by spelling (Rust enum order). */
export function compareRoles(a: SchemaRole, b: SchemaRole): number {
  return SCHEMA_ROLES.indexOf(a) - SCHEMA_ROLES.indexOf(b);
}

/** One committed canonical example of a schema's bytes; `case` is unique within the schema. */
export interface GoldenVector {
  readonly case: string;
  readonly bytes: Uint8Array;
}

export interface SchemaDescriptorInit {
  /** Lowercase `[a-z0-9._-]`, ≤ 256 bytes, no leading/trailing/doubled dot. */
  readonly id: string;
  /** u32; a wire-shape change needs a new version. */
  readonly version: number;
  readonly role: SchemaRole;
  /** Sorted by case for the encoding, so declaration order never matters. Default none. */
  readonly golden?: readonly GoldenVector[];
  /** Informational only (e.g. the TS type that materializes the schema); excluded from every digest. */
  readonly diagnosticType?: string;
}

export interface SchemaIdentityJson {
  readonly id: string;
  readonly version: number;
  readonly role: SchemaRole;
  readonly encoding: string;
}

export interface SchemaDescriptorJson extends SchemaIdentityJson {
  readonly golden: readonly { readonly case: string; readonly bytes: string }[];
  readonly diagnosticType?: string;
}

function encodingView(id: string, version: number, role: SchemaRole, golden: readonly GoldenVector[]): CanonicalValue {
  return cstruct([
    ['domain', cstr(SCHEMA_ENCODING_DOMAIN)],
    ['id', cstr(id)],
    ['version', cuint(version)],
    ['role', cstr(role)],
    ['golden', carray(golden.map((g) => cstruct([['case', cstr(g.case)], ['bytes', cbytesArray(g.bytes)]])))],
  ]);
}

export class SchemaDescriptor {
  readonly id: string;
  readonly version: number;
  readonly role: SchemaRole;
  readonly diagnosticType: string | undefined;
  /** The content hash pinning the wire shape: two declarations of one (id, version, role) must agree on it. */
  readonly encoding: Digest;
  readonly #golden: readonly GoldenVector[];

  /** Validates the id and the golden cases; throws HostError `ERR_SCHEMA_INVALID`. */
  constructor(init: SchemaDescriptorInit) {
    const id = init.id;
    if (typeof id !== 'string') throw new TypeError('schema id must be a string');
    const bad = schemaIdViolation(id);
    if (bad !== undefined) throw new HostError({ kind: 'schema_invalid', schema: id, detail: bad });
    if (!isU32(init.version)) throw new TypeError(`schema version must be a u32, got ${String(init.version)}`);
    if (!isSchemaRole(init.role)) throw new TypeError(`schema role must be one of ${SCHEMA_ROLES.join(', ')}`);
    if (init.diagnosticType !== undefined && typeof init.diagnosticType !== 'string') throw new TypeError('diagnosticType must be a string');
    const golden = (init.golden ?? []).map((g) => {
      if (typeof g?.case !== 'string' || !(g.bytes instanceof Uint8Array)) throw new TypeError('a golden vector is { case: string, bytes: Uint8Array }');
      return Object.freeze({ case: g.case, bytes: new Uint8Array(g.bytes) });
    });
    golden.sort((a, b) => compareUtf8(a.case, b.case));
    for (let i = 1; i < golden.length; i++) {
      if (golden[i]!.case === golden[i - 1]!.case) {
        throw new HostError({ kind: 'schema_invalid', schema: id, detail: `golden vector case ${quote(golden[i]!.case)} is declared twice` });
      }
    }
    this.id = id;
    this.version = init.version;
    this.role = init.role;
    this.diagnosticType = init.diagnosticType;
    this.#golden = Object.freeze(golden);
    this.encoding = canonicalDigest(encodingView(id, init.version, init.role, golden));
    Object.freeze(this);
  }

  /** The golden vectors in case order (copies). */
  get golden(): readonly GoldenVector[] {
    return this.#golden.map((g) => ({ case: g.case, bytes: new Uint8Array(g.bytes) }));
  }

  /** Recomputes the encoding from the declared shape; false means the shape no longer hashes to it. */
  verifyEncoding(): boolean {
    return canonicalDigest(encodingView(this.id, this.version, this.role, this.#golden)).equals(this.encoding);
  }

  identityJson(): SchemaIdentityJson {
    return { id: this.id, version: this.version, role: this.role, encoding: this.encoding.toHex() };
  }

  toJSON(): SchemaDescriptorJson {
    return {
      ...this.identityJson(),
      golden: this.#golden.map((g) => ({ case: g.case, bytes: toHex(g.bytes) })),
      ...(this.diagnosticType === undefined ? {} : { diagnosticType: this.diagnosticType }),
    };
  }
}

/** Declares a schema (same as `new SchemaDescriptor(init)`). */
export function schemaDescriptor(init: SchemaDescriptorInit): SchemaDescriptor {
  return new SchemaDescriptor(init);
}

/** Rust `BTreeMap<(String, u32, SchemaRole)>` order: id byte-wise, then version, then role ordinal. */
export function compareSchemaKeys(a: SchemaDescriptor, b: SchemaDescriptor): number {
  return compareUtf8(a.id, b.id) || a.version - b.version || compareRoles(a.role, b.role);
}

/** The identity a manifest or interface view folds in: id, version, role, encoding (never the diagnostic type). */
export function schemaIdentityView(s: SchemaDescriptor): CanonicalValue {
  return cstruct([
    ['id', cstr(s.id)],
    ['version', cuint(s.version)],
    ['role', cstr(s.role)],
    ['encoding', cbytesArray(s.encoding.bytes)],
  ]);
}
