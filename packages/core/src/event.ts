// Typed event definitions: a kind, a payload version, the upcasters that lift old payloads, and an optional
// Standard Schema validator the payload type is inferred from. Stored bytes are never rewritten; old
// versions are upcast on read (INV-UPCAST-COMPLETE checks the chain).

import { BatpakError } from './errors.js';
import { checkKind, type EventKind } from './kind.js';
import { isStandardSchema, type InferSchemaOutput, type StandardSchemaV1 } from './standard-schema.js';

/** Lifts a payload stored at version `v` to version `v + 1`. */
export type Upcaster = (previous: unknown) => unknown;

export interface EventDefinitionInit<T> {
  readonly category: number;
  readonly typeId: number;
  /** Current payload version, >= 1. Default 1. */
  readonly version?: number;
  /** `upcasters[v]` lifts a version-`v` payload to `v + 1`; every v in 1..version-1 is required. */
  readonly upcasters?: Readonly<Record<number, Upcaster>>;
  /** Optional type guard run on append and on read after upcasting. */
  readonly validate?: (value: unknown) => value is T;
  /** A name for messages and registry reports. */
  readonly name?: string;
}

/**
 * A definition whose payload type comes from a Standard Schema validator (zod, valibot, arktype, …): every
 * append is validated (its output is what is stored), and with `validateOnRead` every read after upcasting.
 */
export interface SchemaEventInit<S extends StandardSchemaV1> {
  /** The event's name: messages, registry reports and `registry.byName(name)`. */
  readonly name: string;
  readonly category: number;
  readonly typeId: number;
  readonly schema: S;
  /** Also validate payloads on read (after upcasting). Default false: only appends are validated. */
  readonly validateOnRead?: boolean;
  readonly version?: number;
  readonly upcasters?: Readonly<Record<number, Upcaster>>;
}

export interface EventDefinition<T> {
  readonly kind: EventKind;
  readonly version: number;
  readonly upcasters: Readonly<Record<number, Upcaster>>;
  readonly validate: ((value: unknown) => value is T) | undefined;
  /** The Standard Schema validator of a definition made with `schema` (undefined otherwise). */
  readonly schema?: StandardSchemaV1<unknown, T> | undefined;
  /** Whether reads validate too (schema definitions only; a `validate` guard always runs on read). */
  readonly validateOnRead?: boolean;
  readonly name: string;
  /** Phantom field carrying the payload type; never set at run time. */
  readonly __payload?: T;
}

/**
 * Declares an event type. The kind must be a user kind (not category 0x0 or 0xD). With `schema` (any Standard
 * Schema v1 validator), the payload type is the schema's output; otherwise it is `T` (checked by `validate`, if given).
 */
export function defineEvent<S extends StandardSchemaV1>(init: SchemaEventInit<S>): EventDefinition<InferSchemaOutput<S>>;
export function defineEvent<T = unknown>(init: EventDefinitionInit<T>): EventDefinition<T>;
export function defineEvent(init: EventDefinitionInit<unknown> & { readonly schema?: unknown; readonly validateOnRead?: unknown }): EventDefinition<unknown> {
  const kind = checkKind({ category: init.category, typeId: init.typeId }, { user: true });
  const { schema, validateOnRead = false } = init;
  if (schema !== undefined && !isStandardSchema(schema)) {
    throw BatpakError.invalidArgument('schema must implement Standard Schema v1 (a `~standard` property with version 1 and validate)', { field: 'schema' });
  }
  if (schema !== undefined && init.validate !== undefined) throw BatpakError.invalidArgument('give either schema or validate, not both', { field: 'validate' });
  if (typeof validateOnRead !== 'boolean') throw BatpakError.invalidArgument('validateOnRead must be a boolean', { field: 'validateOnRead' });
  if (init.name !== undefined && (typeof init.name !== 'string' || init.name.length === 0)) {
    throw BatpakError.invalidArgument('name must be a non-empty string', { field: 'name' });
  }
  const version = init.version ?? 1;
  if (!Number.isInteger(version) || version < 1 || version > 0xffff) {
    throw BatpakError.invalidArgument(`event version must be an integer 1..65535, got ${String(version)}`, { field: 'version' });
  }
  const name = init.name ?? `event ${kind.category.toString(16)}/${kind.typeId}`;
  return Object.freeze({
    kind,
    version,
    upcasters: Object.freeze({ ...(init.upcasters ?? {}) }),
    validate: init.validate,
    schema,
    validateOnRead: schema !== undefined && validateOnRead,
    name,
  });
}

/** The versions in 1..version-1 that have no upcaster. Empty means the chain is complete. */
export function missingUpcasters(def: EventDefinition<unknown>): number[] {
  const missing: number[] = [];
  for (let v = 1; v < def.version; v++) if (typeof def.upcasters[v] !== 'function') missing.push(v);
  return missing;
}

/**
 * Lifts `value` stored at `storedVersion` to the definition's version. Version 0 means app-managed
 * (raw or legacy) bytes and is returned as is. A version newer than the definition is refused.
 */
export function upcast(def: EventDefinition<unknown>, storedVersion: number, value: unknown, eventId: string): unknown {
  if (storedVersion === 0 || storedVersion === def.version) return value;
  if (storedVersion > def.version) {
    throw new BatpakError(
      'ERR_FUTURE_PAYLOAD_VERSION',
      `event ${eventId} has payload version ${storedVersion}, newer than ${def.name} version ${def.version}`,
      { details: { eventId, storedVersion, currentVersion: def.version } },
    );
  }
  let out = value;
  for (let v = storedVersion; v < def.version; v++) {
    const step = def.upcasters[v];
    if (step === undefined) {
      throw new BatpakError('ERR_UPCAST_CHAIN_INCOMPLETE', `${def.name} has no upcaster from version ${v}`, {
        details: { eventId, fromVersion: v },
      });
    }
    out = step(out);
  }
  return out;
}
