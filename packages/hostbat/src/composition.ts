// HostCompositionManifest: every mounted module's schemas keyed by (id, version, role), with the module that owns each.
// Invariant: one key never carries two encodings (SchemaCollision); an identical re-declaration keeps the FIRST-mounted owner (Rust fidelity).

import { carray, cbytesArray, cstr, cstruct, cuint, type CanonicalValue } from '@batpak/core';
import { canonicalDigest, type Digest } from './digest.js';
import { HostError } from './errors.js';
import { compareSchemaKeys, type SchemaDescriptor, type SchemaDescriptorJson, type SchemaRole } from './schema.js';

export const COMPOSITION_DIGEST_DOMAIN = 'hostbat.composition.schema.v1';

export interface CompositionSchema {
  readonly descriptor: SchemaDescriptor;
  /** The module that declared this schema first (mount order). */
  readonly ownerModule: string;
}

export interface HostCompositionManifestJson {
  readonly digest: string;
  readonly schemas: readonly (SchemaDescriptorJson & { readonly ownerModule: string })[];
}

function keyOf(d: SchemaDescriptor): string {
  return `${d.id}\u0000${d.version}\u0000${d.role}`;
}

function compositionView(schemas: readonly CompositionSchema[]): CanonicalValue {
  return cstruct([
    ['domain', cstr(COMPOSITION_DIGEST_DOMAIN)],
    [
      'schemas',
      carray(
        schemas.map(({ descriptor: d, ownerModule }) =>
          cstruct([
            ['id', cstr(d.id)],
            ['version', cuint(d.version)],
            ['role', cstr(d.role)],
            ['encoding', cbytesArray(d.encoding.bytes)],
            ['owner_module', cstr(ownerModule)],
          ]),
        ),
      ),
    ],
  ]);
}

/** Collects schemas across mounts. `check` before `add`, so a refused mount leaves the builder untouched. */
export class CompositionSchemaBuilder {
  readonly #byKey = new Map<string, CompositionSchema>();

  /** The collision `module`'s schemas would cause (against what is mounted and among themselves), or undefined. */
  check(module: string, schemas: readonly SchemaDescriptor[]): HostError | undefined {
    const staged = new Map<string, CompositionSchema>();
    for (const d of schemas) {
      const existing = this.#byKey.get(keyOf(d)) ?? staged.get(keyOf(d));
      if (existing === undefined) {
        staged.set(keyOf(d), { descriptor: d, ownerModule: module });
      } else if (!existing.descriptor.encoding.equals(d.encoding)) {
        return new HostError({
          kind: 'schema_collision',
          schema: d.id,
          version: d.version,
          role: d.role,
          firstModule: existing.ownerModule,
          firstEncoding: existing.descriptor.encoding.toHex(),
          secondModule: module,
          secondEncoding: d.encoding.toHex(),
        });
      }
    }
    return undefined;
  }

  add(module: string, schemas: readonly SchemaDescriptor[]): void {
    const err = this.check(module, schemas);
    if (err !== undefined) throw err;
    for (const d of schemas) if (!this.#byKey.has(keyOf(d))) this.#byKey.set(keyOf(d), Object.freeze({ descriptor: d, ownerModule: module }));
  }

  seal(): HostCompositionManifest {
    const schemas = [...this.#byKey.values()].sort((a, b) => compareSchemaKeys(a.descriptor, b.descriptor));
    return seal(Object.freeze(schemas));
  }
}

let seal: (schemas: readonly CompositionSchema[]) => HostCompositionManifest;

export class HostCompositionManifest {
  /** In (id, version, role ordinal) order. */
  readonly schemas: readonly CompositionSchema[];
  readonly digest: Digest;

  private constructor(schemas: readonly CompositionSchema[], digest: Digest) {
    this.schemas = schemas;
    this.digest = digest;
    Object.freeze(this);
  }

  static {
    seal = (schemas) => new HostCompositionManifest(schemas, canonicalDigest(compositionView(schemas)));
  }

  find(id: string, version: number, role: SchemaRole): CompositionSchema | undefined {
    return this.schemas.find((s) => s.descriptor.id === id && s.descriptor.version === version && s.descriptor.role === role);
  }

  /** Every schema with this id and role, any version (what a schema ref resolves against). */
  matching(id: string, role: SchemaRole): readonly SchemaDescriptor[] {
    return this.schemas.filter((s) => s.descriptor.id === id && s.descriptor.role === role).map((s) => s.descriptor);
  }

  verifyDigest(): boolean {
    return canonicalDigest(compositionView(this.schemas)).equals(this.digest);
  }

  toJSON(): HostCompositionManifestJson {
    return {
      digest: this.digest.toHex(),
      schemas: this.schemas.map((s) => ({ ...s.descriptor.toJSON(), ownerModule: s.ownerModule })),
    };
  }
}
